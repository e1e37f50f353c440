from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.audit_actor import AuditActor





T = TypeVar("T", bound="AuditLog")



@_attrs_define
class AuditLog:
    """ 
        Attributes:
            id (UUID):
            sequence (int):
            created_at (datetime.datetime):  Example: 2026-01-02T03:04:05.678901Z.
            tenant_id (None | UUID):
            event_id (UUID):
            action (str):
            actor (AuditActor):
            ip (None | str):
            user_agent (str):
            request_id (str):
            resource_type (str):
            resource_id (str):
            before (Any):
            after (Any):
            reason (str):
            metadata (Any):
            key_id (str):
            prev_hash (str):
            hash_ (str):
     """

    id: UUID
    sequence: int
    created_at: datetime.datetime
    tenant_id: None | UUID
    event_id: UUID
    action: str
    actor: AuditActor
    ip: None | str
    user_agent: str
    request_id: str
    resource_type: str
    resource_id: str
    before: Any
    after: Any
    reason: str
    metadata: Any
    key_id: str
    prev_hash: str
    hash_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_actor import AuditActor # noqa: PLC0415
        id = str(self.id)

        sequence = self.sequence

        created_at = self.created_at.isoformat()

        tenant_id: None | str
        if isinstance(self.tenant_id, UUID):
            tenant_id = str(self.tenant_id)
        else:
            tenant_id = self.tenant_id

        event_id = str(self.event_id)

        action = self.action

        actor = self.actor.to_dict()

        ip: None | str
        ip = self.ip

        user_agent = self.user_agent

        request_id = self.request_id

        resource_type = self.resource_type

        resource_id = self.resource_id

        before = self.before

        after = self.after

        reason = self.reason

        metadata = self.metadata

        key_id = self.key_id

        prev_hash = self.prev_hash

        hash_ = self.hash_


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "sequence": sequence,
            "created_at": created_at,
            "tenant_id": tenant_id,
            "event_id": event_id,
            "action": action,
            "actor": actor,
            "ip": ip,
            "user_agent": user_agent,
            "request_id": request_id,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "before": before,
            "after": after,
            "reason": reason,
            "metadata": metadata,
            "key_id": key_id,
            "prev_hash": prev_hash,
            "hash": hash_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_actor import AuditActor # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        sequence = d.pop("sequence")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        def _parse_tenant_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                tenant_id_type_0 = UUID(data)



                return tenant_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        tenant_id = _parse_tenant_id(d.pop("tenant_id"))


        event_id = UUID(d.pop("event_id"))




        action = d.pop("action")

        actor = AuditActor.from_dict(d.pop("actor"))




        def _parse_ip(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        ip = _parse_ip(d.pop("ip"))


        user_agent = d.pop("user_agent")

        request_id = d.pop("request_id")

        resource_type = d.pop("resource_type")

        resource_id = d.pop("resource_id")

        before = d.pop("before")

        after = d.pop("after")

        reason = d.pop("reason")

        metadata = d.pop("metadata")

        key_id = d.pop("key_id")

        prev_hash = d.pop("prev_hash")

        hash_ = d.pop("hash")

        audit_log = cls(
            id=id,
            sequence=sequence,
            created_at=created_at,
            tenant_id=tenant_id,
            event_id=event_id,
            action=action,
            actor=actor,
            ip=ip,
            user_agent=user_agent,
            request_id=request_id,
            resource_type=resource_type,
            resource_id=resource_id,
            before=before,
            after=after,
            reason=reason,
            metadata=metadata,
            key_id=key_id,
            prev_hash=prev_hash,
            hash_=hash_,
        )


        audit_log.additional_properties = d
        return audit_log

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
