from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.action_request_params import ActionRequestParams





T = TypeVar("T", bound="ActionRequest")



@_attrs_define
class ActionRequest:
    """ 
        Attributes:
            tool (str):
            params (ActionRequestParams | Unset):
     """

    tool: str
    params: ActionRequestParams | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.action_request_params import ActionRequestParams # noqa: PLC0415
        tool = self.tool

        params: dict[str, Any] | Unset = UNSET
        if not isinstance(self.params, Unset):
            params = self.params.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "tool": tool,
        })
        if params is not UNSET:
            field_dict["params"] = params

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.action_request_params import ActionRequestParams # noqa: PLC0415
        d = dict(src_dict)
        tool = d.pop("tool")

        _params = d.pop("params", UNSET)
        params: ActionRequestParams | Unset
        if isinstance(_params,  Unset):
            params = UNSET
        else:
            params = ActionRequestParams.from_dict(_params)




        action_request = cls(
            tool=tool,
            params=params,
        )


        action_request.additional_properties = d
        return action_request

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
