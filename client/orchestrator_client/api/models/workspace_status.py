from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.blank_enum import BlankEnum
from ..models.blank_enum import check_blank_enum
from ..models.operation_enum import check_operation_enum
from ..models.operation_enum import OperationEnum
from ..models.provider_enum import check_provider_enum
from ..models.provider_enum import ProviderEnum
from ..models.workspace_status_enum import check_workspace_status_enum
from ..models.workspace_status_enum import WorkspaceStatusEnum
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="WorkspaceStatus")



@_attrs_define
class WorkspaceStatus:
    """ 
        Attributes:
            id (UUID):
            status (WorkspaceStatusEnum): * `PENDING` - Pending
                * `PROVISIONING` - Provisioning
                * `READY` - Ready
                * `HIBERNATED` - Hibernated
                * `FAILED` - Failed
                * `TERMINATED` - Terminated
            provider (ProviderEnum): * `local` - Local folder
                * `task_controller` - Task controller
            last_error (str):
            operation (BlankEnum | OperationEnum):
            operation_attempts (int):
            next_attempt_at (datetime.datetime | None):
            status_changed_at (datetime.datetime | None):
     """

    id: UUID
    status: WorkspaceStatusEnum
    provider: ProviderEnum
    last_error: str
    operation: BlankEnum | OperationEnum
    operation_attempts: int
    next_attempt_at: datetime.datetime | None
    status_changed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        status: str = self.status

        provider: str = self.provider

        last_error = self.last_error

        operation: str
        if isinstance(self.operation, str):
            operation = self.operation
        else:
            operation = self.operation


        operation_attempts = self.operation_attempts

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        status_changed_at: None | str
        if isinstance(self.status_changed_at, datetime.datetime):
            status_changed_at = self.status_changed_at.isoformat()
        else:
            status_changed_at = self.status_changed_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "status": status,
            "provider": provider,
            "last_error": last_error,
            "operation": operation,
            "operation_attempts": operation_attempts,
            "next_attempt_at": next_attempt_at,
            "status_changed_at": status_changed_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        status = check_workspace_status_enum(d.pop("status"))




        provider = check_provider_enum(d.pop("provider"))




        last_error = d.pop("last_error")

        def _parse_operation(data: object) -> BlankEnum | OperationEnum:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                operation_type_0 = check_operation_enum(data)



                return operation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, str):
                raise TypeError()
            operation_type_1 = check_blank_enum(data)



            return operation_type_1

        operation = _parse_operation(d.pop("operation"))


        operation_attempts = d.pop("operation_attempts")

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)



                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))


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


        workspace_status = cls(
            id=id,
            status=status,
            provider=provider,
            last_error=last_error,
            operation=operation,
            operation_attempts=operation_attempts,
            next_attempt_at=next_attempt_at,
            status_changed_at=status_changed_at,
        )


        workspace_status.additional_properties = d
        return workspace_status

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
