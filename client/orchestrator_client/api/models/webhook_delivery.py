from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.delivery_status_enum import check_delivery_status_enum
from ..models.delivery_status_enum import DeliveryStatusEnum
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.webhook_attempt import WebhookAttempt





T = TypeVar("T", bound="WebhookDelivery")



@_attrs_define
class WebhookDelivery:
    """ 
        Attributes:
            id (UUID):
            webhook_id (UUID):
            event_id (UUID):
            event_type (str):
            message_id (str): The webhook-id header: the same on every retry.
            status (DeliveryStatusEnum): * `PENDING` - Pending
                * `QUEUED` - Queued
                * `DELIVERING` - Delivering
                * `SUCCEEDED` - Succeeded
                * `FAILED` - Failed
            attempt_count (int): Attempts in the current schedule.
            max_attempts (int):
            next_attempt_at (datetime.datetime): When due (PENDING/QUEUED) or when the lease ends.
            last_status_code (int | None):
            last_error (str):
            delivered_at (datetime.datetime | None):
            created_at (datetime.datetime):
            attempts (list[WebhookAttempt]):
     """

    id: UUID
    webhook_id: UUID
    event_id: UUID
    event_type: str
    message_id: str
    status: DeliveryStatusEnum
    attempt_count: int
    max_attempts: int
    next_attempt_at: datetime.datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime.datetime | None
    created_at: datetime.datetime
    attempts: list[WebhookAttempt]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.webhook_attempt import WebhookAttempt # noqa: PLC0415
        id = str(self.id)

        webhook_id = str(self.webhook_id)

        event_id = str(self.event_id)

        event_type = self.event_type

        message_id = self.message_id

        status: str = self.status

        attempt_count = self.attempt_count

        max_attempts = self.max_attempts

        next_attempt_at = self.next_attempt_at.isoformat()

        last_status_code: int | None
        last_status_code = self.last_status_code

        last_error = self.last_error

        delivered_at: None | str
        if isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        created_at = self.created_at.isoformat()

        attempts = []
        for attempts_item_data in self.attempts:
            attempts_item = attempts_item_data.to_dict()
            attempts.append(attempts_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "webhook_id": webhook_id,
            "event_id": event_id,
            "event_type": event_type,
            "message_id": message_id,
            "status": status,
            "attempt_count": attempt_count,
            "max_attempts": max_attempts,
            "next_attempt_at": next_attempt_at,
            "last_status_code": last_status_code,
            "last_error": last_error,
            "delivered_at": delivered_at,
            "created_at": created_at,
            "attempts": attempts,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_attempt import WebhookAttempt # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        webhook_id = UUID(d.pop("webhook_id"))




        event_id = UUID(d.pop("event_id"))




        event_type = d.pop("event_type")

        message_id = d.pop("message_id")

        status = check_delivery_status_enum(d.pop("status"))




        attempt_count = d.pop("attempt_count")

        max_attempts = d.pop("max_attempts")

        next_attempt_at = datetime.datetime.fromisoformat(d.pop("next_attempt_at"))




        def _parse_last_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        last_status_code = _parse_last_status_code(d.pop("last_status_code"))


        last_error = d.pop("last_error")

        def _parse_delivered_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = datetime.datetime.fromisoformat(data)



                return delivered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at"))


        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        attempts = []
        _attempts = d.pop("attempts")
        for attempts_item_data in (_attempts):
            attempts_item = WebhookAttempt.from_dict(attempts_item_data)



            attempts.append(attempts_item)


        webhook_delivery = cls(
            id=id,
            webhook_id=webhook_id,
            event_id=event_id,
            event_type=event_type,
            message_id=message_id,
            status=status,
            attempt_count=attempt_count,
            max_attempts=max_attempts,
            next_attempt_at=next_attempt_at,
            last_status_code=last_status_code,
            last_error=last_error,
            delivered_at=delivered_at,
            created_at=created_at,
            attempts=attempts,
        )


        webhook_delivery.additional_properties = d
        return webhook_delivery

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
