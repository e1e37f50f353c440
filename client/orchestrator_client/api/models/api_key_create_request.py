from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.scopes_enum import check_scopes_enum
from ..models.scopes_enum import ScopesEnum
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID






T = TypeVar("T", bound="ApiKeyCreateRequest")



@_attrs_define
class ApiKeyCreateRequest:
    """ 
        Attributes:
            name (str):
            scopes (list[ScopesEnum]):
            tenant_id (UUID | Unset):
            personal (bool | Unset): A personal key: it acts as you (for separation of duties too), within your role's
                scopes. Default: False.
            service_account_id (UUID | Unset): Operators: the service account the key belongs to (default: one named like
                the key).
     """

    name: str
    scopes: list[ScopesEnum]
    tenant_id: UUID | Unset = UNSET
    personal: bool | Unset = False
    service_account_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        name = self.name

        scopes = []
        for scopes_item_data in self.scopes:
            scopes_item: str = scopes_item_data
            scopes.append(scopes_item)



        tenant_id: str | Unset = UNSET
        if not isinstance(self.tenant_id, Unset):
            tenant_id = str(self.tenant_id)

        personal = self.personal

        service_account_id: str | Unset = UNSET
        if not isinstance(self.service_account_id, Unset):
            service_account_id = str(self.service_account_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "name": name,
            "scopes": scopes,
        })
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id
        if personal is not UNSET:
            field_dict["personal"] = personal
        if service_account_id is not UNSET:
            field_dict["service_account_id"] = service_account_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        scopes = []
        _scopes = d.pop("scopes")
        for scopes_item_data in (_scopes):
            scopes_item = check_scopes_enum(scopes_item_data)



            scopes.append(scopes_item)


        _tenant_id = d.pop("tenant_id", UNSET)
        tenant_id: UUID | Unset
        if isinstance(_tenant_id,  Unset):
            tenant_id = UNSET
        else:
            tenant_id = UUID(_tenant_id)




        personal = d.pop("personal", UNSET)

        _service_account_id = d.pop("service_account_id", UNSET)
        service_account_id: UUID | Unset
        if isinstance(_service_account_id,  Unset):
            service_account_id = UNSET
        else:
            service_account_id = UUID(_service_account_id)




        api_key_create_request = cls(
            name=name,
            scopes=scopes,
            tenant_id=tenant_id,
            personal=personal,
            service_account_id=service_account_id,
        )


        api_key_create_request.additional_properties = d
        return api_key_create_request

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
