from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.approval_ask_request import ApprovalAskRequest
from ...models.approval_detail import ApprovalDetail
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    *,
    body: ApprovalAskRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/approvals/request",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApprovalDetail | Problem | None:
    if response.status_code == 200:
        response_200 = ApprovalDetail.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = ApprovalDetail.from_dict(response.json())



        return response_201

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApprovalDetail | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ApprovalAskRequest,

) -> Response[ApprovalDetail | Problem]:
    """ Ask for approval of an action

     From inside a running step: ask whether an action may run. A low-risk action answers
    `requires_approval: false` at once; otherwise you get the request (201 when new, 200 when the same
    action was asked before).

    Args:
        body (ApprovalAskRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApprovalDetail | Problem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: ApprovalAskRequest,

) -> ApprovalDetail | Problem | None:
    """ Ask for approval of an action

     From inside a running step: ask whether an action may run. A low-risk action answers
    `requires_approval: false` at once; otherwise you get the request (201 when new, 200 when the same
    action was asked before).

    Args:
        body (ApprovalAskRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApprovalDetail | Problem
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ApprovalAskRequest,

) -> Response[ApprovalDetail | Problem]:
    """ Ask for approval of an action

     From inside a running step: ask whether an action may run. A low-risk action answers
    `requires_approval: false` at once; otherwise you get the request (201 when new, 200 when the same
    action was asked before).

    Args:
        body (ApprovalAskRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApprovalDetail | Problem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ApprovalAskRequest,

) -> ApprovalDetail | Problem | None:
    """ Ask for approval of an action

     From inside a running step: ask whether an action may run. A low-risk action answers
    `requires_approval: false` at once; otherwise you get the request (201 when new, 200 when the same
    action was asked before).

    Args:
        body (ApprovalAskRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApprovalDetail | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
