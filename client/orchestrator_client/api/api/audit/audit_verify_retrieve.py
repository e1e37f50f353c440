from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.verification import Verification
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    full: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["full"] = full

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/audit/verify",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Verification | None:
    if response.status_code == 200:
        response_200 = Verification.from_dict(response.json())



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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Verification]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    full: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,

) -> Response[Problem | Verification]:
    """ Verify the audit chain

     Checks each of your tenants' hash chains against their signed anchors and reports the first bad
    entry and why. Answers 200 either way: look at `ok`.

    Args:
        full (bool | Unset):  Default: False.
        tenant_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Verification]
     """


    kwargs = _get_kwargs(
        full=full,
tenant_id=tenant_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    full: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,

) -> Problem | Verification | None:
    """ Verify the audit chain

     Checks each of your tenants' hash chains against their signed anchors and reports the first bad
    entry and why. Answers 200 either way: look at `ok`.

    Args:
        full (bool | Unset):  Default: False.
        tenant_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Verification
     """


    return sync_detailed(
        client=client,
full=full,
tenant_id=tenant_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    full: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,

) -> Response[Problem | Verification]:
    """ Verify the audit chain

     Checks each of your tenants' hash chains against their signed anchors and reports the first bad
    entry and why. Answers 200 either way: look at `ok`.

    Args:
        full (bool | Unset):  Default: False.
        tenant_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Verification]
     """


    kwargs = _get_kwargs(
        full=full,
tenant_id=tenant_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    full: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,

) -> Problem | Verification | None:
    """ Verify the audit chain

     Checks each of your tenants' hash chains against their signed anchors and reports the first bad
    entry and why. Answers 200 either way: look at `ok`.

    Args:
        full (bool | Unset):  Default: False.
        tenant_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Verification
     """


    return (await asyncio_detailed(
        client=client,
full=full,
tenant_id=tenant_id,

    )).parsed
