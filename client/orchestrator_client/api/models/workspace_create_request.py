from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.workspace_create_request_metadata import WorkspaceCreateRequestMetadata





T = TypeVar("T", bound="WorkspaceCreateRequest")



@_attrs_define
class WorkspaceCreateRequest:
    """ 
        Attributes:
            name (str | Unset):  Default: ''.
            metadata (WorkspaceCreateRequestMetadata | Unset):
            provision (bool | Unset): Start provisioning now instead of before the first run's task. Default: False.
            tenant_id (UUID | Unset): Only for people in several tenants.
     """

    name: str | Unset = ''
    metadata: WorkspaceCreateRequestMetadata | Unset = UNSET
    provision: bool | Unset = False
    tenant_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.workspace_create_request_metadata import WorkspaceCreateRequestMetadata # noqa: PLC0415
        name = self.name

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        provision = self.provision

        tenant_id: str | Unset = UNSET
        if not isinstance(self.tenant_id, Unset):
            tenant_id = str(self.tenant_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if name is not UNSET:
            field_dict["name"] = name
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if provision is not UNSET:
            field_dict["provision"] = provision
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workspace_create_request_metadata import WorkspaceCreateRequestMetadata # noqa: PLC0415
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        _metadata = d.pop("metadata", UNSET)
        metadata: WorkspaceCreateRequestMetadata | Unset
        if isinstance(_metadata,  Unset):
            metadata = UNSET
        else:
            metadata = WorkspaceCreateRequestMetadata.from_dict(_metadata)




        provision = d.pop("provision", UNSET)

        _tenant_id = d.pop("tenant_id", UNSET)
        tenant_id: UUID | Unset
        if isinstance(_tenant_id,  Unset):
            tenant_id = UNSET
        else:
            tenant_id = UUID(_tenant_id)




        workspace_create_request = cls(
            name=name,
            metadata=metadata,
            provision=provision,
            tenant_id=tenant_id,
        )


        workspace_create_request.additional_properties = d
        return workspace_create_request

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
