from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.paginated_run_list import PaginatedRunList
from ...models.problem import Problem
from ...models.workflows_list_status import check_workflows_list_status
from ...models.workflows_list_status import WorkflowsListStatus
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkflowsListStatus | Unset = UNSET,
    workspace_id: UUID | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_created_after: str | Unset = UNSET
    if not isinstance(created_after, Unset):
        json_created_after = created_after.isoformat()
    params["created_after"] = json_created_after

    json_created_before: str | Unset = UNSET
    if not isinstance(created_before, Unset):
        json_created_before = created_before.isoformat()
    params["created_before"] = json_created_before

    params["cursor"] = cursor

    params["limit"] = limit

    params["name"] = name

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status

    json_workspace_id: str | Unset = UNSET
    if not isinstance(workspace_id, Unset):
        json_workspace_id = str(workspace_id)
    params["workspace_id"] = json_workspace_id


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/workflows",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PaginatedRunList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedRunList.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PaginatedRunList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkflowsListStatus | Unset = UNSET,
    workspace_id: UUID | Unset = UNSET,

) -> Response[PaginatedRunList | Problem]:
    """ List workflow runs

     Runs of your tenants, newest first. Filter by `status`, `name` (contains),
    `created_after`/`created_before` (ISO 8601) and `workspace_id`.

    Args:
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkflowsListStatus | Unset):
        workspace_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedRunList | Problem]
     """


    kwargs = _get_kwargs(
        created_after=created_after,
created_before=created_before,
cursor=cursor,
limit=limit,
name=name,
status=status,
workspace_id=workspace_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkflowsListStatus | Unset = UNSET,
    workspace_id: UUID | Unset = UNSET,

) -> PaginatedRunList | Problem | None:
    """ List workflow runs

     Runs of your tenants, newest first. Filter by `status`, `name` (contains),
    `created_after`/`created_before` (ISO 8601) and `workspace_id`.

    Args:
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkflowsListStatus | Unset):
        workspace_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedRunList | Problem
     """


    return sync_detailed(
        client=client,
created_after=created_after,
created_before=created_before,
cursor=cursor,
limit=limit,
name=name,
status=status,
workspace_id=workspace_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkflowsListStatus | Unset = UNSET,
    workspace_id: UUID | Unset = UNSET,

) -> Response[PaginatedRunList | Problem]:
    """ List workflow runs

     Runs of your tenants, newest first. Filter by `status`, `name` (contains),
    `created_after`/`created_before` (ISO 8601) and `workspace_id`.

    Args:
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkflowsListStatus | Unset):
        workspace_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedRunList | Problem]
     """


    kwargs = _get_kwargs(
        created_after=created_after,
created_before=created_before,
cursor=cursor,
limit=limit,
name=name,
status=status,
workspace_id=workspace_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    created_after: datetime.datetime | Unset = UNSET,
    created_before: datetime.datetime | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    name: str | Unset = UNSET,
    status: WorkflowsListStatus | Unset = UNSET,
    workspace_id: UUID | Unset = UNSET,

) -> PaginatedRunList | Problem | None:
    """ List workflow runs

     Runs of your tenants, newest first. Filter by `status`, `name` (contains),
    `created_after`/`created_before` (ISO 8601) and `workspace_id`.

    Args:
        created_after (datetime.datetime | Unset):
        created_before (datetime.datetime | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        name (str | Unset):
        status (WorkflowsListStatus | Unset):
        workspace_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedRunList | Problem
     """


    return (await asyncio_detailed(
        client=client,
created_after=created_after,
created_before=created_before,
cursor=cursor,
limit=limit,
name=name,
status=status,
workspace_id=workspace_id,

    )).parsed
