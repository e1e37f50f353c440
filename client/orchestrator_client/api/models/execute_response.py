from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.execution import Execution





T = TypeVar("T", bound="ExecuteResponse")



@_attrs_define
class ExecuteResponse:
    """ 
        Attributes:
            approval_id (UUID):
            action_hash (str):
            tool (str):
            params (Any):
            execution (Execution):
     """

    approval_id: UUID
    action_hash: str
    tool: str
    params: Any
    execution: Execution
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.execution import Execution # noqa: PLC0415
        approval_id = str(self.approval_id)

        action_hash = self.action_hash

        tool = self.tool

        params = self.params

        execution = self.execution.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "approval_id": approval_id,
            "action_hash": action_hash,
            "tool": tool,
            "params": params,
            "execution": execution,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.execution import Execution # noqa: PLC0415
        d = dict(src_dict)
        approval_id = UUID(d.pop("approval_id"))




        action_hash = d.pop("action_hash")

        tool = d.pop("tool")

        params = d.pop("params")

        execution = Execution.from_dict(d.pop("execution"))




        execute_response = cls(
            approval_id=approval_id,
            action_hash=action_hash,
            tool=tool,
            params=params,
            execution=execution,
        )


        execute_response.additional_properties = d
        return execute_response

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
