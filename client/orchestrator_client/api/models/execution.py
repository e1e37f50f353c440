from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="Execution")



@_attrs_define
class Execution:
    """ 
        Attributes:
            status (str):
            node_run_id (None | str):
            claimed_at (datetime.datetime):
            completed_at (datetime.datetime | None):
            output (Any):
            error (str):
     """

    status: str
    node_run_id: None | str
    claimed_at: datetime.datetime
    completed_at: datetime.datetime | None
    output: Any
    error: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        status = self.status

        node_run_id: None | str
        node_run_id = self.node_run_id

        claimed_at = self.claimed_at.isoformat()

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        output = self.output

        error = self.error


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "status": status,
            "node_run_id": node_run_id,
            "claimed_at": claimed_at,
            "completed_at": completed_at,
            "output": output,
            "error": error,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = d.pop("status")

        def _parse_node_run_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        node_run_id = _parse_node_run_id(d.pop("node_run_id"))


        claimed_at = datetime.datetime.fromisoformat(d.pop("claimed_at"))




        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)



                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))


        output = d.pop("output")

        error = d.pop("error")

        execution = cls(
            status=status,
            node_run_id=node_run_id,
            claimed_at=claimed_at,
            completed_at=completed_at,
            output=output,
            error=error,
        )


        execution.additional_properties = d
        return execution

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
