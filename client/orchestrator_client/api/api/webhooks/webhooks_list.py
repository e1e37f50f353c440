from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.paginated_webhook_endpoint_list import PaginatedWebhookEndpointList
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["enabled"] = enabled

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/webhooks",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PaginatedWebhookEndpointList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedWebhookEndpointList.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PaginatedWebhookEndpointList | Problem]:
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
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[PaginatedWebhookEndpointList | Problem]:
    """ List webhook endpoints

     Endpoints of your tenants.

    Args:
        cursor (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedWebhookEndpointList | Problem]
     """


    kwargs = _get_kwargs(
        cursor=cursor,
enabled=enabled,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> PaginatedWebhookEndpointList | Problem | None:
    """ List webhook endpoints

     Endpoints of your tenants.

    Args:
        cursor (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedWebhookEndpointList | Problem
     """


    return sync_detailed(
        client=client,
cursor=cursor,
enabled=enabled,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[PaginatedWebhookEndpointList | Problem]:
    """ List webhook endpoints

     Endpoints of your tenants.

    Args:
        cursor (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedWebhookEndpointList | Problem]
     """


    kwargs = _get_kwargs(
        cursor=cursor,
enabled=enabled,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> PaginatedWebhookEndpointList | Problem | None:
    """ List webhook endpoints

     Endpoints of your tenants.

    Args:
        cursor (str | Unset):
        enabled (bool | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedWebhookEndpointList | Problem
     """


    return (await asyncio_detailed(
        client=client,
cursor=cursor,
enabled=enabled,
limit=limit,

    )).parsed
