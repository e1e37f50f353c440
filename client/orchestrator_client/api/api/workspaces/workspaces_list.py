from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.paginated_workspace_list import PaginatedWorkspaceList
from ...models.problem import Problem
from ...models.workspaces_list_status import check_workspaces_list_status
from ...models.workspaces_list_status import WorkspacesListStatus
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkspacesListStatus | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

    params["name"] = name

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/workspaces",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PaginatedWorkspaceList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedWorkspaceList.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 406:
        response_406 = Problem.from_dict(response.json())



        return response_406

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PaginatedWorkspaceList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkspacesListStatus | Unset = UNSET,

) -> Response[PaginatedWorkspaceList | Problem]:
    """ List workspaces

     Persistent workspaces of your tenants.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkspacesListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedWorkspaceList | Problem]
     """


    kwargs = _get_kwargs(
        cursor=cursor,
limit=limit,
name=name,
status=status,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkspacesListStatus | Unset = UNSET,

) -> PaginatedWorkspaceList | Problem | None:
    """ List workspaces

     Persistent workspaces of your tenants.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkspacesListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedWorkspaceList | Problem
     """


    return sync_detailed(
        client=client,
cursor=cursor,
limit=limit,
name=name,
status=status,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkspacesListStatus | Unset = UNSET,

) -> Response[PaginatedWorkspaceList | Problem]:
    """ List workspaces

     Persistent workspaces of your tenants.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkspacesListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedWorkspaceList | Problem]
     """


    kwargs = _get_kwargs(
        cursor=cursor,
limit=limit,
name=name,
status=status,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkspacesListStatus | Unset = UNSET,

) -> PaginatedWorkspaceList | Problem | None:
    """ List workspaces

     Persistent workspaces of your tenants.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkspacesListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedWorkspaceList | Problem
     """


    return (await asyncio_detailed(
        client=client,
cursor=cursor,
limit=limit,
name=name,
status=status,

    )).parsed
