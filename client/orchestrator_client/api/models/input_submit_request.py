from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.input_submit_request_values import InputSubmitRequestValues





T = TypeVar("T", bound="InputSubmitRequest")



@_attrs_define
class InputSubmitRequest:
    """ 
        Attributes:
            values (InputSubmitRequestValues): The form's fields and their values; checked against the step's form (400
                naming each wrong field, e.g. values.amount). They become the step's output.
     """

    values: InputSubmitRequestValues
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.input_submit_request_values import InputSubmitRequestValues # noqa: PLC0415
        values = self.values.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "values": values,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.input_submit_request_values import InputSubmitRequestValues # noqa: PLC0415
        d = dict(src_dict)
        values = InputSubmitRequestValues.from_dict(d.pop("values"))




        input_submit_request = cls(
            values=values,
        )


        input_submit_request.additional_properties = d
        return input_submit_request

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
