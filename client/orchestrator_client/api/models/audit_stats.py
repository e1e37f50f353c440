from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.audit_stats_by_action import AuditStatsByAction
  from ..models.audit_stats_by_resource_type import AuditStatsByResourceType
  from ..models.count import Count





T = TypeVar("T", bound="AuditStats")



@_attrs_define
class AuditStats:
    """ 
        Attributes:
            total (int):
            by_action (AuditStatsByAction):
            by_resource_type (AuditStatsByResourceType):
            by_day (list[Count]):
     """

    total: int
    by_action: AuditStatsByAction
    by_resource_type: AuditStatsByResourceType
    by_day: list[Count]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_stats_by_action import AuditStatsByAction # noqa: PLC0415
        from ..models.audit_stats_by_resource_type import AuditStatsByResourceType # noqa: PLC0415
        from ..models.count import Count # noqa: PLC0415
        total = self.total

        by_action = self.by_action.to_dict()

        by_resource_type = self.by_resource_type.to_dict()

        by_day = []
        for by_day_item_data in self.by_day:
            by_day_item = by_day_item_data.to_dict()
            by_day.append(by_day_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "total": total,
            "by_action": by_action,
            "by_resource_type": by_resource_type,
            "by_day": by_day,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_stats_by_action import AuditStatsByAction # noqa: PLC0415
        from ..models.audit_stats_by_resource_type import AuditStatsByResourceType # noqa: PLC0415
        from ..models.count import Count # noqa: PLC0415
        d = dict(src_dict)
        total = d.pop("total")

        by_action = AuditStatsByAction.from_dict(d.pop("by_action"))




        by_resource_type = AuditStatsByResourceType.from_dict(d.pop("by_resource_type"))




        by_day = []
        _by_day = d.pop("by_day")
        for by_day_item_data in (_by_day):
            by_day_item = Count.from_dict(by_day_item_data)



            by_day.append(by_day_item)


        audit_stats = cls(
            total=total,
            by_action=by_action,
            by_resource_type=by_resource_type,
            by_day=by_day,
        )


        audit_stats.additional_properties = d
        return audit_stats

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
