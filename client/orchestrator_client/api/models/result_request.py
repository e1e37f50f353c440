from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID






T = TypeVar("T", bound="ResultRequest")



@_attrs_define
class ResultRequest:
    """ 
        Attributes:
            status (str): COMPLETED or FAILED
            output (Any | Unset):
            error (str | Unset):  Default: ''.
            node_run_id (None | Unset | UUID):
     """

    status: str
    output: Any | Unset = UNSET
    error: str | Unset = ''
    node_run_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        status = self.status

        output = self.output

        error = self.error

        node_run_id: None | str | Unset
        if isinstance(self.node_run_id, Unset):
            node_run_id = UNSET
        elif isinstance(self.node_run_id, UUID):
            node_run_id = str(self.node_run_id)
        else:
            node_run_id = self.node_run_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "status": status,
        })
        if output is not UNSET:
            field_dict["output"] = output
        if error is not UNSET:
            field_dict["error"] = error
        if node_run_id is not UNSET:
            field_dict["node_run_id"] = node_run_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = d.pop("status")

        output = d.pop("output", UNSET)

        error = d.pop("error", UNSET)

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


        result_request = cls(
            status=status,
            output=output,
            error=error,
            node_run_id=node_run_id,
        )


        result_request.additional_properties = d
        return result_request

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
