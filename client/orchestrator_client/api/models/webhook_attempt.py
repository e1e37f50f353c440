from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="WebhookAttempt")



@_attrs_define
class WebhookAttempt:
    """ 
        Attributes:
            number (int): 1-based, over the delivery's whole life (redeliveries too).
            created_at (datetime.datetime):
            success (bool):
            status_code (int | None):
            latency_ms (int):
            error (str):
            response_excerpt (str):
            next_attempt_at (datetime.datetime | None): When the next try was scheduled.
     """

    number: int
    created_at: datetime.datetime
    success: bool
    status_code: int | None
    latency_ms: int
    error: str
    response_excerpt: str
    next_attempt_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        number = self.number

        created_at = self.created_at.isoformat()

        success = self.success

        status_code: int | None
        status_code = self.status_code

        latency_ms = self.latency_ms

        error = self.error

        response_excerpt = self.response_excerpt

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "number": number,
            "created_at": created_at,
            "success": success,
            "status_code": status_code,
            "latency_ms": latency_ms,
            "error": error,
            "response_excerpt": response_excerpt,
            "next_attempt_at": next_attempt_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        number = d.pop("number")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        success = d.pop("success")

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))


        latency_ms = d.pop("latency_ms")

        error = d.pop("error")

        response_excerpt = d.pop("response_excerpt")

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)



                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))


        webhook_attempt = cls(
            number=number,
            created_at=created_at,
            success=success,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            response_excerpt=response_excerpt,
            next_attempt_at=next_attempt_at,
        )


        webhook_attempt.additional_properties = d
        return webhook_attempt

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
