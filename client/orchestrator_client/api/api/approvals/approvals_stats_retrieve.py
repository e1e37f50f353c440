from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.stats import Stats
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    window_hours: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["window_hours"] = window_hours


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/approvals/stats",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Stats | None:
    if response.status_code == 200:
        response_200 = Stats.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Stats]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    window_hours: int | Unset = UNSET,

) -> Response[Problem | Stats]:
    """ Approval statistics

     Counts by status and risk, and decision times, over the last `window_hours` (default 24).

    Args:
        window_hours (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Stats]
     """


    kwargs = _get_kwargs(
        window_hours=window_hours,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    window_hours: int | Unset = UNSET,

) -> Problem | Stats | None:
    """ Approval statistics

     Counts by status and risk, and decision times, over the last `window_hours` (default 24).

    Args:
        window_hours (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Stats
     """


    return sync_detailed(
        client=client,
window_hours=window_hours,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    window_hours: int | Unset = UNSET,

) -> Response[Problem | Stats]:
    """ Approval statistics

     Counts by status and risk, and decision times, over the last `window_hours` (default 24).

    Args:
        window_hours (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Stats]
     """


    kwargs = _get_kwargs(
        window_hours=window_hours,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    window_hours: int | Unset = UNSET,

) -> Problem | Stats | None:
    """ Approval statistics

     Counts by status and risk, and decision times, over the last `window_hours` (default 24).

    Args:
        window_hours (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Stats
     """


    return (await asyncio_detailed(
        client=client,
window_hours=window_hours,

    )).parsed
