from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.provider_enum import check_provider_enum
from ..models.provider_enum import ProviderEnum
from ..models.workspace_status_enum import check_workspace_status_enum
from ..models.workspace_status_enum import WorkspaceStatusEnum
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.lock_state import LockState





T = TypeVar("T", bound="Workspace")



@_attrs_define
class Workspace:
    """ 
        Attributes:
            id (UUID):
            tenant_id (UUID):
            name (str):
            status (WorkspaceStatusEnum): * `PENDING` - Pending
                * `PROVISIONING` - Provisioning
                * `READY` - Ready
                * `HIBERNATED` - Hibernated
                * `FAILED` - Failed
                * `TERMINATED` - Terminated
            provider (ProviderEnum): * `local` - Local folder
                * `task_controller` - Task controller
            metadata (Any):
            last_error (str):
            lock (LockState):
            status_changed_at (datetime.datetime | None):
            last_used_at (datetime.datetime | None):
            created_at (datetime.datetime):
            updated_at (datetime.datetime):
     """

    id: UUID
    tenant_id: UUID
    name: str
    status: WorkspaceStatusEnum
    provider: ProviderEnum
    metadata: Any
    last_error: str
    lock: LockState
    status_changed_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.lock_state import LockState # noqa: PLC0415
        id = str(self.id)

        tenant_id = str(self.tenant_id)

        name = self.name

        status: str = self.status

        provider: str = self.provider

        metadata = self.metadata

        last_error = self.last_error

        lock = self.lock.to_dict()

        status_changed_at: None | str
        if isinstance(self.status_changed_at, datetime.datetime):
            status_changed_at = self.status_changed_at.isoformat()
        else:
            status_changed_at = self.status_changed_at

        last_used_at: None | str
        if isinstance(self.last_used_at, datetime.datetime):
            last_used_at = self.last_used_at.isoformat()
        else:
            last_used_at = self.last_used_at

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "tenant_id": tenant_id,
            "name": name,
            "status": status,
            "provider": provider,
            "metadata": metadata,
            "last_error": last_error,
            "lock": lock,
            "status_changed_at": status_changed_at,
            "last_used_at": last_used_at,
            "created_at": created_at,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lock_state import LockState # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        tenant_id = UUID(d.pop("tenant_id"))




        name = d.pop("name")

        status = check_workspace_status_enum(d.pop("status"))




        provider = check_provider_enum(d.pop("provider"))




        metadata = d.pop("metadata")

        last_error = d.pop("last_error")

        lock = LockState.from_dict(d.pop("lock"))




        def _parse_status_changed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_changed_at_type_0 = datetime.datetime.fromisoformat(data)



                return status_changed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        status_changed_at = _parse_status_changed_at(d.pop("status_changed_at"))


        def _parse_last_used_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_used_at_type_0 = datetime.datetime.fromisoformat(data)



                return last_used_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_used_at = _parse_last_used_at(d.pop("last_used_at"))


        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        workspace = cls(
            id=id,
            tenant_id=tenant_id,
            name=name,
            status=status,
            provider=provider,
            metadata=metadata,
            last_error=last_error,
            lock=lock,
            status_changed_at=status_changed_at,
            last_used_at=last_used_at,
            created_at=created_at,
            updated_at=updated_at,
        )


        workspace.additional_properties = d
        return workspace

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
