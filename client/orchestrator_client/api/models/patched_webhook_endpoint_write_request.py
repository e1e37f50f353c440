from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.events_enum import check_events_enum
from ..models.events_enum import EventsEnum
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID






T = TypeVar("T", bound="PatchedWebhookEndpointWriteRequest")



@_attrs_define
class PatchedWebhookEndpointWriteRequest:
    """ Input of create, PUT and PATCH (PATCH: every field optional).

        Attributes:
            url (str | Unset):
            events (list[EventsEnum] | Unset): Types, or ["*"].
            enabled (bool | Unset):  Default: True.
            description (str | Unset):  Default: ''.
            tenant_id (UUID | Unset): Only for people in several tenants.
     """

    url: str | Unset = UNSET
    events: list[EventsEnum] | Unset = UNSET
    enabled: bool | Unset = True
    description: str | Unset = ''
    tenant_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        url = self.url

        events: list[str] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = []
            for events_item_data in self.events:
                events_item: str = events_item_data
                events.append(events_item)



        enabled = self.enabled

        description = self.description

        tenant_id: str | Unset = UNSET
        if not isinstance(self.tenant_id, Unset):
            tenant_id = str(self.tenant_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if url is not UNSET:
            field_dict["url"] = url
        if events is not UNSET:
            field_dict["events"] = events
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if description is not UNSET:
            field_dict["description"] = description
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url", UNSET)

        _events = d.pop("events", UNSET)
        events: list[EventsEnum] | Unset = UNSET
        if _events is not UNSET:
            events = []
            for events_item_data in _events:
                events_item = check_events_enum(events_item_data)



                events.append(events_item)


        enabled = d.pop("enabled", UNSET)

        description = d.pop("description", UNSET)

        _tenant_id = d.pop("tenant_id", UNSET)
        tenant_id: UUID | Unset
        if isinstance(_tenant_id,  Unset):
            tenant_id = UNSET
        else:
            tenant_id = UUID(_tenant_id)




        patched_webhook_endpoint_write_request = cls(
            url=url,
            events=events,
            enabled=enabled,
            description=description,
            tenant_id=tenant_id,
        )


        patched_webhook_endpoint_write_request.additional_properties = d
        return patched_webhook_endpoint_write_request

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
