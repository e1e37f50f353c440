from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.run_status_enum import check_run_status_enum
from ..models.run_status_enum import RunStatusEnum
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.workspace_ref import WorkspaceRef





T = TypeVar("T", bound="Run")



@_attrs_define
class Run:
    """ 
        Attributes:
            id (UUID):
            tenant_id (UUID):
            name (str):
            description (str):
            metadata (Any):
            status (RunStatusEnum): * `PENDING` - Pending
                * `RUNNING` - Running
                * `COMPLETED` - Completed
                * `FAILED` - Failed
                * `CANCELLED` - Cancelled
            workspace_id (None | UUID):
            workspace (None | WorkspaceRef):
            created_by (Any): {"type", "id", "display"}
            started_by (Any): {"type", "id", "display"}
            error (str):
            cancel_reason (str):
            created_at (datetime.datetime):
            started_at (datetime.datetime | None):
            finished_at (datetime.datetime | None):
            updated_at (datetime.datetime):
     """

    id: UUID
    tenant_id: UUID
    name: str
    description: str
    metadata: Any
    status: RunStatusEnum
    workspace_id: None | UUID
    workspace: None | WorkspaceRef
    created_by: Any
    started_by: Any
    error: str
    cancel_reason: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.workspace_ref import WorkspaceRef # noqa: PLC0415
        id = str(self.id)

        tenant_id = str(self.tenant_id)

        name = self.name

        description = self.description

        metadata = self.metadata

        status: str = self.status

        workspace_id: None | str
        if isinstance(self.workspace_id, UUID):
            workspace_id = str(self.workspace_id)
        else:
            workspace_id = self.workspace_id

        workspace: dict[str, Any] | None
        if isinstance(self.workspace, WorkspaceRef):
            workspace = self.workspace.to_dict()
        else:
            workspace = self.workspace

        created_by = self.created_by

        started_by = self.started_by

        error = self.error

        cancel_reason = self.cancel_reason

        created_at = self.created_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "tenant_id": tenant_id,
            "name": name,
            "description": description,
            "metadata": metadata,
            "status": status,
            "workspace_id": workspace_id,
            "workspace": workspace,
            "created_by": created_by,
            "started_by": started_by,
            "error": error,
            "cancel_reason": cancel_reason,
            "created_at": created_at,
            "started_at": started_at,
            "finished_at": finished_at,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workspace_ref import WorkspaceRef # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        tenant_id = UUID(d.pop("tenant_id"))




        name = d.pop("name")

        description = d.pop("description")

        metadata = d.pop("metadata")

        status = check_run_status_enum(d.pop("status"))




        def _parse_workspace_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                workspace_id_type_0 = UUID(data)



                return workspace_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        workspace_id = _parse_workspace_id(d.pop("workspace_id"))


        def _parse_workspace(data: object) -> None | WorkspaceRef:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                workspace_type_1 = WorkspaceRef.from_dict(data)



                return workspace_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | WorkspaceRef, data)

        workspace = _parse_workspace(d.pop("workspace"))


        created_by = d.pop("created_by")

        started_by = d.pop("started_by")

        error = d.pop("error")

        cancel_reason = d.pop("cancel_reason")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)



                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))


        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)



                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))


        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        run = cls(
            id=id,
            tenant_id=tenant_id,
            name=name,
            description=description,
            metadata=metadata,
            status=status,
            workspace_id=workspace_id,
            workspace=workspace,
            created_by=created_by,
            started_by=started_by,
            error=error,
            cancel_reason=cancel_reason,
            created_at=created_at,
            started_at=started_at,
            finished_at=finished_at,
            updated_at=updated_at,
        )


        run.additional_properties = d
        return run

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
