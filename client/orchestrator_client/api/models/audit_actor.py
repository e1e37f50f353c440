from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.audit_actor_type_enum import AuditActorTypeEnum
from ..models.audit_actor_type_enum import check_audit_actor_type_enum
from typing import cast






T = TypeVar("T", bound="AuditActor")



@_attrs_define
class AuditActor:
    """ 
        Attributes:
            type_ (AuditActorTypeEnum): * `user` - user
                * `api_key` - api_key
                * `system` - system
            id (str):
            display (str):
     """

    type_: AuditActorTypeEnum
    id: str
    display: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        id = self.id

        display = self.display


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "type": type_,
            "id": id,
            "display": display,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = check_audit_actor_type_enum(d.pop("type"))




        id = d.pop("id")

        display = d.pop("display")

        audit_actor = cls(
            type_=type_,
            id=id,
            display=display,
        )


        audit_actor.additional_properties = d
        return audit_actor

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
