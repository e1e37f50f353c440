from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.node_run_result_request import NodeRunResultRequest
from ...models.node_run_result_response import NodeRunResultResponse
from ...models.problem import Problem
from typing import cast
from uuid import UUID



def _get_kwargs(
    node_run_id: UUID,
    *,
    body: NodeRunResultRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/internal/node-runs/{node_run_id}/result".format(node_run_id=quote(str(node_run_id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> NodeRunResultResponse | Problem | None:
    if response.status_code == 200:
        response_200 = NodeRunResultResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[NodeRunResultResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    node_run_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: NodeRunResultRequest,

) -> Response[NodeRunResultResponse | Problem]:
    """ Report a step attempt's result (task controller)

     For the task controller only, authenticated by the `X-Internal-Token` header.

    Args:
        node_run_id (UUID):
        body (NodeRunResultRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[NodeRunResultResponse | Problem]
     """


    kwargs = _get_kwargs(
        node_run_id=node_run_id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    node_run_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: NodeRunResultRequest,

) -> NodeRunResultResponse | Problem | None:
    """ Report a step attempt's result (task controller)

     For the task controller only, authenticated by the `X-Internal-Token` header.

    Args:
        node_run_id (UUID):
        body (NodeRunResultRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        NodeRunResultResponse | Problem
     """


    return sync_detailed(
        node_run_id=node_run_id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    node_run_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: NodeRunResultRequest,

) -> Response[NodeRunResultResponse | Problem]:
    """ Report a step attempt's result (task controller)

     For the task controller only, authenticated by the `X-Internal-Token` header.

    Args:
        node_run_id (UUID):
        body (NodeRunResultRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[NodeRunResultResponse | Problem]
     """


    kwargs = _get_kwargs(
        node_run_id=node_run_id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    node_run_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: NodeRunResultRequest,

) -> NodeRunResultResponse | Problem | None:
    """ Report a step attempt's result (task controller)

     For the task controller only, authenticated by the `X-Internal-Token` header.

    Args:
        node_run_id (UUID):
        body (NodeRunResultRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        NodeRunResultResponse | Problem
     """


    return (await asyncio_detailed(
        node_run_id=node_run_id,
client=client,
body=body,

    )).parsed
