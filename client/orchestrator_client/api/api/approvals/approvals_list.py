from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.approvals_list_risk_level_item import ApprovalsListRiskLevelItem
from ...models.approvals_list_risk_level_item import check_approvals_list_risk_level_item
from ...models.approvals_list_status_item import ApprovalsListStatusItem
from ...models.approvals_list_status_item import check_approvals_list_status_item
from ...models.paginated_approval_list import PaginatedApprovalList
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    requested_after: datetime.datetime | Unset = UNSET,
    requested_before: datetime.datetime | Unset = UNSET,
    risk_level: list[ApprovalsListRiskLevelItem] | Unset = UNSET,
    status: list[ApprovalsListStatusItem] | Unset = UNSET,
    tool: str | Unset = UNSET,
    workflow_id: UUID | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

    json_requested_after: str | Unset = UNSET
    if not isinstance(requested_after, Unset):
        json_requested_after = requested_after.isoformat()
    params["requested_after"] = json_requested_after

    json_requested_before: str | Unset = UNSET
    if not isinstance(requested_before, Unset):
        json_requested_before = requested_before.isoformat()
    params["requested_before"] = json_requested_before

    json_risk_level: list[str] | Unset = UNSET
    if not isinstance(risk_level, Unset):
        json_risk_level = []
        for risk_level_item_data in risk_level:
            risk_level_item: str = risk_level_item_data
            json_risk_level.append(risk_level_item)


    params["risk_level"] = json_risk_level

    json_status: list[str] | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = []
        for status_item_data in status:
            status_item: str = status_item_data
            json_status.append(status_item)


    params["status"] = json_status

    params["tool"] = tool

    json_workflow_id: str | Unset = UNSET
    if not isinstance(workflow_id, Unset):
        json_workflow_id = str(workflow_id)
    params["workflow_id"] = json_workflow_id


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/approvals",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PaginatedApprovalList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedApprovalList.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PaginatedApprovalList | Problem]:
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
    requested_after: datetime.datetime | Unset = UNSET,
    requested_before: datetime.datetime | Unset = UNSET,
    risk_level: list[ApprovalsListRiskLevelItem] | Unset = UNSET,
    status: list[ApprovalsListStatusItem] | Unset = UNSET,
    tool: str | Unset = UNSET,
    workflow_id: UUID | Unset = UNSET,

) -> Response[PaginatedApprovalList | Problem]:
    """ List approval requests

     Requests of your tenants, most urgent first. Only PENDING ones unless you pass `status` (or
    `status=ALL`). Filter by `risk_level`, `tool` and run.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        requested_after (datetime.datetime | Unset):
        requested_before (datetime.datetime | Unset):
        risk_level (list[ApprovalsListRiskLevelItem] | Unset):
        status (list[ApprovalsListStatusItem] | Unset):
        tool (str | Unset):
        workflow_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedApprovalList | Problem]
     """


    kwargs = _get_kwargs(
        cursor=cursor,
limit=limit,
requested_after=requested_after,
requested_before=requested_before,
risk_level=risk_level,
status=status,
tool=tool,
workflow_id=workflow_id,

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
    requested_after: datetime.datetime | Unset = UNSET,
    requested_before: datetime.datetime | Unset = UNSET,
    risk_level: list[ApprovalsListRiskLevelItem] | Unset = UNSET,
    status: list[ApprovalsListStatusItem] | Unset = UNSET,
    tool: str | Unset = UNSET,
    workflow_id: UUID | Unset = UNSET,

) -> PaginatedApprovalList | Problem | None:
    """ List approval requests

     Requests of your tenants, most urgent first. Only PENDING ones unless you pass `status` (or
    `status=ALL`). Filter by `risk_level`, `tool` and run.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        requested_after (datetime.datetime | Unset):
        requested_before (datetime.datetime | Unset):
        risk_level (list[ApprovalsListRiskLevelItem] | Unset):
        status (list[ApprovalsListStatusItem] | Unset):
        tool (str | Unset):
        workflow_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedApprovalList | Problem
     """


    return sync_detailed(
        client=client,
cursor=cursor,
limit=limit,
requested_after=requested_after,
requested_before=requested_before,
risk_level=risk_level,
status=status,
tool=tool,
workflow_id=workflow_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    requested_after: datetime.datetime | Unset = UNSET,
    requested_before: datetime.datetime | Unset = UNSET,
    risk_level: list[ApprovalsListRiskLevelItem] | Unset = UNSET,
    status: list[ApprovalsListStatusItem] | Unset = UNSET,
    tool: str | Unset = UNSET,
    workflow_id: UUID | Unset = UNSET,

) -> Response[PaginatedApprovalList | Problem]:
    """ List approval requests

     Requests of your tenants, most urgent first. Only PENDING ones unless you pass `status` (or
    `status=ALL`). Filter by `risk_level`, `tool` and run.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        requested_after (datetime.datetime | Unset):
        requested_before (datetime.datetime | Unset):
        risk_level (list[ApprovalsListRiskLevelItem] | Unset):
        status (list[ApprovalsListStatusItem] | Unset):
        tool (str | Unset):
        workflow_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedApprovalList | Problem]
     """


    kwargs = _get_kwargs(
        cursor=cursor,
limit=limit,
requested_after=requested_after,
requested_before=requested_before,
risk_level=risk_level,
status=status,
tool=tool,
workflow_id=workflow_id,

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
    requested_after: datetime.datetime | Unset = UNSET,
    requested_before: datetime.datetime | Unset = UNSET,
    risk_level: list[ApprovalsListRiskLevelItem] | Unset = UNSET,
    status: list[ApprovalsListStatusItem] | Unset = UNSET,
    tool: str | Unset = UNSET,
    workflow_id: UUID | Unset = UNSET,

) -> PaginatedApprovalList | Problem | None:
    """ List approval requests

     Requests of your tenants, most urgent first. Only PENDING ones unless you pass `status` (or
    `status=ALL`). Filter by `risk_level`, `tool` and run.

    Args:
        cursor (str | Unset):
        limit (int | Unset):
        requested_after (datetime.datetime | Unset):
        requested_before (datetime.datetime | Unset):
        risk_level (list[ApprovalsListRiskLevelItem] | Unset):
        status (list[ApprovalsListStatusItem] | Unset):
        tool (str | Unset):
        workflow_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedApprovalList | Problem
     """


    return (await asyncio_detailed(
        client=client,
cursor=cursor,
limit=limit,
requested_after=requested_after,
requested_before=requested_before,
risk_level=risk_level,
status=status,
tool=tool,
workflow_id=workflow_id,

    )).parsed
