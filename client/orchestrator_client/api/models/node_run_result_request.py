from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.reported_status_enum import check_reported_status_enum
from ..models.reported_status_enum import ReportedStatusEnum
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="NodeRunResultRequest")



@_attrs_define
class NodeRunResultRequest:
    """ 
        Attributes:
            status (ReportedStatusEnum): * `COMPLETED` - Completed
                * `FAILED` - Failed
            output (Any | Unset):
            error (str | Unset):  Default: ''.
     """

    status: ReportedStatusEnum
    output: Any | Unset = UNSET
    error: str | Unset = ''
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        status: str = self.status

        output = self.output

        error = self.error


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "status": status,
        })
        if output is not UNSET:
            field_dict["output"] = output
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = check_reported_status_enum(d.pop("status"))




        output = d.pop("output", UNSET)

        error = d.pop("error", UNSET)

        node_run_result_request = cls(
            status=status,
            output=output,
            error=error,
        )


        node_run_result_request.additional_properties = d
        return node_run_result_request

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
