from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.paginated_audit_log_list import PaginatedAuditLogList
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    action: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    actor_type: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    resource_id: str | Unset = UNSET,
    resource_type: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    tenant_id: UUID | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["action"] = action

    params["actor_id"] = actor_id

    params["actor_type"] = actor_type

    params["cursor"] = cursor

    params["limit"] = limit

    params["resource_id"] = resource_id

    params["resource_type"] = resource_type

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/audit",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PaginatedAuditLogList | Problem | None:
    if response.status_code == 200:
        response_200 = PaginatedAuditLogList.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PaginatedAuditLogList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    actor_type: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    resource_id: str | Unset = UNSET,
    resource_type: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    tenant_id: UUID | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> Response[PaginatedAuditLogList | Problem]:
    """ List audit entries

     Who did what, newest first, with cursor pagination. Filter by action, resource, actor and time.

    Args:
        action (str | Unset):
        actor_id (str | Unset):
        actor_type (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        resource_id (str | Unset):
        resource_type (str | Unset):
        since (datetime.datetime | Unset):
        tenant_id (UUID | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedAuditLogList | Problem]
     """


    kwargs = _get_kwargs(
        action=action,
actor_id=actor_id,
actor_type=actor_type,
cursor=cursor,
limit=limit,
resource_id=resource_id,
resource_type=resource_type,
since=since,
tenant_id=tenant_id,
until=until,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    actor_type: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    resource_id: str | Unset = UNSET,
    resource_type: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    tenant_id: UUID | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> PaginatedAuditLogList | Problem | None:
    """ List audit entries

     Who did what, newest first, with cursor pagination. Filter by action, resource, actor and time.

    Args:
        action (str | Unset):
        actor_id (str | Unset):
        actor_type (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        resource_id (str | Unset):
        resource_type (str | Unset):
        since (datetime.datetime | Unset):
        tenant_id (UUID | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedAuditLogList | Problem
     """


    return sync_detailed(
        client=client,
action=action,
actor_id=actor_id,
actor_type=actor_type,
cursor=cursor,
limit=limit,
resource_id=resource_id,
resource_type=resource_type,
since=since,
tenant_id=tenant_id,
until=until,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    actor_type: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    resource_id: str | Unset = UNSET,
    resource_type: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    tenant_id: UUID | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> Response[PaginatedAuditLogList | Problem]:
    """ List audit entries

     Who did what, newest first, with cursor pagination. Filter by action, resource, actor and time.

    Args:
        action (str | Unset):
        actor_id (str | Unset):
        actor_type (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        resource_id (str | Unset):
        resource_type (str | Unset):
        since (datetime.datetime | Unset):
        tenant_id (UUID | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PaginatedAuditLogList | Problem]
     """


    kwargs = _get_kwargs(
        action=action,
actor_id=actor_id,
actor_type=actor_type,
cursor=cursor,
limit=limit,
resource_id=resource_id,
resource_type=resource_type,
since=since,
tenant_id=tenant_id,
until=until,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    actor_type: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    resource_id: str | Unset = UNSET,
    resource_type: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    tenant_id: UUID | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,

) -> PaginatedAuditLogList | Problem | None:
    """ List audit entries

     Who did what, newest first, with cursor pagination. Filter by action, resource, actor and time.

    Args:
        action (str | Unset):
        actor_id (str | Unset):
        actor_type (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        resource_id (str | Unset):
        resource_type (str | Unset):
        since (datetime.datetime | Unset):
        tenant_id (UUID | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PaginatedAuditLogList | Problem
     """


    return (await asyncio_detailed(
        client=client,
action=action,
actor_id=actor_id,
actor_type=actor_type,
cursor=cursor,
limit=limit,
resource_id=resource_id,
resource_type=resource_type,
since=since,
tenant_id=tenant_id,
until=until,

    )).parsed
