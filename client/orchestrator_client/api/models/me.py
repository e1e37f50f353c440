from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.me_tenants_item import MeTenantsItem





T = TypeVar("T", bound="Me")



@_attrs_define
class Me:
    """ 
        Attributes:
            type_ (str):
            id (str):
            display (str):
            tenants (list[MeTenantsItem]):
     """

    type_: str
    id: str
    display: str
    tenants: list[MeTenantsItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.me_tenants_item import MeTenantsItem # noqa: PLC0415
        type_ = self.type_

        id = self.id

        display = self.display

        tenants = []
        for tenants_item_data in self.tenants:
            tenants_item = tenants_item_data.to_dict()
            tenants.append(tenants_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "type": type_,
            "id": id,
            "display": display,
            "tenants": tenants,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.me_tenants_item import MeTenantsItem # noqa: PLC0415
        d = dict(src_dict)
        type_ = d.pop("type")

        id = d.pop("id")

        display = d.pop("display")

        tenants = []
        _tenants = d.pop("tenants")
        for tenants_item_data in (_tenants):
            tenants_item = MeTenantsItem.from_dict(tenants_item_data)



            tenants.append(tenants_item)


        me = cls(
            type_=type_,
            id=id,
            display=display,
            tenants=tenants,
        )


        me.additional_properties = d
        return me

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
