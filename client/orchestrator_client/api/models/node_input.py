from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.node_input_submitted_by_type_0 import NodeInputSubmittedByType0





T = TypeVar("T", bound="NodeInput")



@_attrs_define
class NodeInput:
    """ What an INPUT step asks and who answered (issue 19).

        Attributes:
            prompt (str): What the person is asked.
            form (Any): The JSON Schema of the values (an object of fields).
            field_order (list[str]): The form's field names in the order the definition wrote them.
            groups (list[str]): Who may submit: members of these groups (empty: any reviewer).
            due_at (datetime.datetime | None): When the input is due (null until the step is reached).
            has_default (bool): Past the due time the step takes its default instead of failing.
            submitted_by (NodeInputSubmittedByType0 | None): Who submitted the values, {"type", "id", "display"} (null until
                then).
     """

    prompt: str
    form: Any
    field_order: list[str]
    groups: list[str]
    due_at: datetime.datetime | None
    has_default: bool
    submitted_by: NodeInputSubmittedByType0 | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.node_input_submitted_by_type_0 import NodeInputSubmittedByType0 # noqa: PLC0415
        prompt = self.prompt

        form = self.form

        field_order = self.field_order



        groups = self.groups



        due_at: None | str
        if isinstance(self.due_at, datetime.datetime):
            due_at = self.due_at.isoformat()
        else:
            due_at = self.due_at

        has_default = self.has_default

        submitted_by: dict[str, Any] | None
        if isinstance(self.submitted_by, NodeInputSubmittedByType0):
            submitted_by = self.submitted_by.to_dict()
        else:
            submitted_by = self.submitted_by


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "prompt": prompt,
            "form": form,
            "field_order": field_order,
            "groups": groups,
            "due_at": due_at,
            "has_default": has_default,
            "submitted_by": submitted_by,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_input_submitted_by_type_0 import NodeInputSubmittedByType0 # noqa: PLC0415
        d = dict(src_dict)
        prompt = d.pop("prompt")

        form = d.pop("form")

        field_order = cast(list[str], d.pop("field_order"))


        groups = cast(list[str], d.pop("groups"))


        def _parse_due_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                due_at_type_0 = datetime.datetime.fromisoformat(data)



                return due_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        due_at = _parse_due_at(d.pop("due_at"))


        has_default = d.pop("has_default")

        def _parse_submitted_by(data: object) -> NodeInputSubmittedByType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                submitted_by_type_0 = NodeInputSubmittedByType0.from_dict(data)



                return submitted_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NodeInputSubmittedByType0 | None, data)

        submitted_by = _parse_submitted_by(d.pop("submitted_by"))


        node_input = cls(
            prompt=prompt,
            form=form,
            field_order=field_order,
            groups=groups,
            due_at=due_at,
            has_default=has_default,
            submitted_by=submitted_by,
        )


        node_input.additional_properties = d
        return node_input

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
