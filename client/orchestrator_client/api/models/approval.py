from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.approval_status_enum import ApprovalStatusEnum
from ..models.approval_status_enum import check_approval_status_enum
from ..models.risk_level_enum import check_risk_level_enum
from ..models.risk_level_enum import RiskLevelEnum
from ..models.source_enum import check_source_enum
from ..models.source_enum import SourceEnum
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.actor import Actor





T = TypeVar("T", bound="Approval")



@_attrs_define
class Approval:
    """ 
        Attributes:
            id (UUID):
            tenant_id (UUID):
            workflow_id (UUID):
            node_key (str):
            node_run_id (None | UUID):
            source (SourceEnum): * `scheduler` - Scheduler (TASK before dispatch)
                * `service` - Service (POST /approvals/request)
            tool (str):
            summary (str):
            risk_level (RiskLevelEnum): * `LOW` - Low
                * `MEDIUM` - Medium
                * `HIGH` - High
                * `CRITICAL` - Critical
            risk_reasons (Any):
            required_approvals (int):
            status (ApprovalStatusEnum): * `PENDING` - Pending
                * `APPROVED` - Approved
                * `REJECTED` - Rejected
                * `EXPIRED` - Expired
                * `EXECUTED` - Executed
                * `WITHDRAWN` - Withdrawn
            action_hash (str):
            requested_by (Actor):
            created_at (datetime.datetime):
            expires_at (datetime.datetime): A PENDING request expires at this time.
            decided_at (datetime.datetime | None):
            decision_reason (str):
            valid_until (datetime.datetime | None): An APPROVED request expires at this time.
            expired_at (datetime.datetime | None):
            executed_at (datetime.datetime | None):
            console_url (str):
            assigned_groups (list[str]): Reviewer groups whose members (or their delegates) may decide; empty when not
                routed.
            escalated_at (datetime.datetime | None):
     """

    id: UUID
    tenant_id: UUID
    workflow_id: UUID
    node_key: str
    node_run_id: None | UUID
    source: SourceEnum
    tool: str
    summary: str
    risk_level: RiskLevelEnum
    risk_reasons: Any
    required_approvals: int
    status: ApprovalStatusEnum
    action_hash: str
    requested_by: Actor
    created_at: datetime.datetime
    expires_at: datetime.datetime
    decided_at: datetime.datetime | None
    decision_reason: str
    valid_until: datetime.datetime | None
    expired_at: datetime.datetime | None
    executed_at: datetime.datetime | None
    console_url: str
    assigned_groups: list[str]
    escalated_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.actor import Actor # noqa: PLC0415
        id = str(self.id)

        tenant_id = str(self.tenant_id)

        workflow_id = str(self.workflow_id)

        node_key = self.node_key

        node_run_id: None | str
        if isinstance(self.node_run_id, UUID):
            node_run_id = str(self.node_run_id)
        else:
            node_run_id = self.node_run_id

        source: str = self.source

        tool = self.tool

        summary = self.summary

        risk_level: str = self.risk_level

        risk_reasons = self.risk_reasons

        required_approvals = self.required_approvals

        status: str = self.status

        action_hash = self.action_hash

        requested_by = self.requested_by.to_dict()

        created_at = self.created_at.isoformat()

        expires_at = self.expires_at.isoformat()

        decided_at: None | str
        if isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        decision_reason = self.decision_reason

        valid_until: None | str
        if isinstance(self.valid_until, datetime.datetime):
            valid_until = self.valid_until.isoformat()
        else:
            valid_until = self.valid_until

        expired_at: None | str
        if isinstance(self.expired_at, datetime.datetime):
            expired_at = self.expired_at.isoformat()
        else:
            expired_at = self.expired_at

        executed_at: None | str
        if isinstance(self.executed_at, datetime.datetime):
            executed_at = self.executed_at.isoformat()
        else:
            executed_at = self.executed_at

        console_url = self.console_url

        assigned_groups = self.assigned_groups



        escalated_at: None | str
        if isinstance(self.escalated_at, datetime.datetime):
            escalated_at = self.escalated_at.isoformat()
        else:
            escalated_at = self.escalated_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "tenant_id": tenant_id,
            "workflow_id": workflow_id,
            "node_key": node_key,
            "node_run_id": node_run_id,
            "source": source,
            "tool": tool,
            "summary": summary,
            "risk_level": risk_level,
            "risk_reasons": risk_reasons,
            "required_approvals": required_approvals,
            "status": status,
            "action_hash": action_hash,
            "requested_by": requested_by,
            "created_at": created_at,
            "expires_at": expires_at,
            "decided_at": decided_at,
            "decision_reason": decision_reason,
            "valid_until": valid_until,
            "expired_at": expired_at,
            "executed_at": executed_at,
            "console_url": console_url,
            "assigned_groups": assigned_groups,
            "escalated_at": escalated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.actor import Actor # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        tenant_id = UUID(d.pop("tenant_id"))




        workflow_id = UUID(d.pop("workflow_id"))




        node_key = d.pop("node_key")

        def _parse_node_run_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                node_run_id_type_0 = UUID(data)



                return node_run_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        node_run_id = _parse_node_run_id(d.pop("node_run_id"))


        source = check_source_enum(d.pop("source"))




        tool = d.pop("tool")

        summary = d.pop("summary")

        risk_level = check_risk_level_enum(d.pop("risk_level"))




        risk_reasons = d.pop("risk_reasons")

        required_approvals = d.pop("required_approvals")

        status = check_approval_status_enum(d.pop("status"))




        action_hash = d.pop("action_hash")

        requested_by = Actor.from_dict(d.pop("requested_by"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))




        def _parse_decided_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decided_at_type_0 = datetime.datetime.fromisoformat(data)



                return decided_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        decided_at = _parse_decided_at(d.pop("decided_at"))


        decision_reason = d.pop("decision_reason")

        def _parse_valid_until(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                valid_until_type_0 = datetime.datetime.fromisoformat(data)



                return valid_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        valid_until = _parse_valid_until(d.pop("valid_until"))


        def _parse_expired_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expired_at_type_0 = datetime.datetime.fromisoformat(data)



                return expired_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expired_at = _parse_expired_at(d.pop("expired_at"))


        def _parse_executed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                executed_at_type_0 = datetime.datetime.fromisoformat(data)



                return executed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        executed_at = _parse_executed_at(d.pop("executed_at"))


        console_url = d.pop("console_url")

        assigned_groups = cast(list[str], d.pop("assigned_groups"))


        def _parse_escalated_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                escalated_at_type_0 = datetime.datetime.fromisoformat(data)



                return escalated_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        escalated_at = _parse_escalated_at(d.pop("escalated_at"))


        approval = cls(
            id=id,
            tenant_id=tenant_id,
            workflow_id=workflow_id,
            node_key=node_key,
            node_run_id=node_run_id,
            source=source,
            tool=tool,
            summary=summary,
            risk_level=risk_level,
            risk_reasons=risk_reasons,
            required_approvals=required_approvals,
            status=status,
            action_hash=action_hash,
            requested_by=requested_by,
            created_at=created_at,
            expires_at=expires_at,
            decided_at=decided_at,
            decision_reason=decision_reason,
            valid_until=valid_until,
            expired_at=expired_at,
            executed_at=executed_at,
            console_url=console_url,
            assigned_groups=assigned_groups,
            escalated_at=escalated_at,
        )


        approval.additional_properties = d
        return approval

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
