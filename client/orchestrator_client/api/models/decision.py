from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.decision_enum import check_decision_enum
from ..models.decision_enum import DecisionEnum
from ..models.step_up_enum import check_step_up_enum
from ..models.step_up_enum import StepUpEnum
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.actor import Actor





T = TypeVar("T", bound="Decision")



@_attrs_define
class Decision:
    """ 
        Attributes:
            decision (DecisionEnum): * `approve` - Approve
                * `reject` - Reject
            by (Actor):
            on_behalf_of (Actor | None): The reviewer a delegate stood in for.
            principals (list[str]): Who the deciding credential speaks for.
            step_up (None | StepUpEnum): How the decider recently proved who they are, if asked.
            reason (str):
            created_at (datetime.datetime):
     """

    decision: DecisionEnum
    by: Actor
    on_behalf_of: Actor | None
    principals: list[str]
    step_up: None | StepUpEnum
    reason: str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.actor import Actor # noqa: PLC0415
        decision: str = self.decision

        by = self.by.to_dict()

        on_behalf_of: dict[str, Any] | None
        if isinstance(self.on_behalf_of, Actor):
            on_behalf_of = self.on_behalf_of.to_dict()
        else:
            on_behalf_of = self.on_behalf_of

        principals = self.principals



        step_up: None | str
        if isinstance(self.step_up, str):
            step_up = self.step_up
        else:
            step_up = self.step_up

        reason = self.reason

        created_at = self.created_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "decision": decision,
            "by": by,
            "on_behalf_of": on_behalf_of,
            "principals": principals,
            "step_up": step_up,
            "reason": reason,
            "created_at": created_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.actor import Actor # noqa: PLC0415
        d = dict(src_dict)
        decision = check_decision_enum(d.pop("decision"))




        by = Actor.from_dict(d.pop("by"))




        def _parse_on_behalf_of(data: object) -> Actor | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                on_behalf_of_type_1 = Actor.from_dict(data)



                return on_behalf_of_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Actor | None, data)

        on_behalf_of = _parse_on_behalf_of(d.pop("on_behalf_of"))


        principals = cast(list[str], d.pop("principals"))


        def _parse_step_up(data: object) -> None | StepUpEnum:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                step_up_type_0 = check_step_up_enum(data)



                return step_up_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | StepUpEnum, data)

        step_up = _parse_step_up(d.pop("step_up"))


        reason = d.pop("reason")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        decision = cls(
            decision=decision,
            by=by,
            on_behalf_of=on_behalf_of,
            principals=principals,
            step_up=step_up,
            reason=reason,
            created_at=created_at,
        )


        decision.additional_properties = d
        return decision

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
