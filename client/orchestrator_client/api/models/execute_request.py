from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.action_request import ActionRequest





T = TypeVar("T", bound="ExecuteRequest")



@_attrs_define
class ExecuteRequest:
    """ 
        Attributes:
            node_run_id (None | Unset | UUID):
            action (ActionRequest | Unset):
     """

    node_run_id: None | Unset | UUID = UNSET
    action: ActionRequest | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.action_request import ActionRequest # noqa: PLC0415
        node_run_id: None | str | Unset
        if isinstance(self.node_run_id, Unset):
            node_run_id = UNSET
        elif isinstance(self.node_run_id, UUID):
            node_run_id = str(self.node_run_id)
        else:
            node_run_id = self.node_run_id

        action: dict[str, Any] | Unset = UNSET
        if not isinstance(self.action, Unset):
            action = self.action.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if node_run_id is not UNSET:
            field_dict["node_run_id"] = node_run_id
        if action is not UNSET:
            field_dict["action"] = action

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_request import ActionRequest # noqa: PLC0415
        d = dict(src_dict)
        def _parse_node_run_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                node_run_id_type_0 = UUID(data)



                return node_run_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        node_run_id = _parse_node_run_id(d.pop("node_run_id", UNSET))


        _action = d.pop("action", UNSET)
        action: ActionRequest | Unset
        if isinstance(_action,  Unset):
            action = UNSET
        else:
            action = ActionRequest.from_dict(_action)




        execute_request = cls(
            node_run_id=node_run_id,
            action=action,
        )


        execute_request.additional_properties = d
        return execute_request

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
