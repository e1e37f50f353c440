from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.stats_by_risk_level import StatsByRiskLevel
  from ..models.stats_by_status import StatsByStatus
  from ..models.stats_decision_latency_seconds import StatsDecisionLatencySeconds
  from ..models.stats_pending_by_risk_level import StatsPendingByRiskLevel





T = TypeVar("T", bound="Stats")



@_attrs_define
class Stats:
    """ 
        Attributes:
            by_status (StatsByStatus):
            by_risk_level (StatsByRiskLevel):
            pending (int):
            pending_by_risk_level (StatsPendingByRiskLevel):
            oldest_pending_age_seconds (float | None):
            window_hours (float):
            decisions_in_window (int):
            decision_latency_seconds (StatsDecisionLatencySeconds):
            expired_in_window (int):
            expiry_rate (float | None):
     """

    by_status: StatsByStatus
    by_risk_level: StatsByRiskLevel
    pending: int
    pending_by_risk_level: StatsPendingByRiskLevel
    oldest_pending_age_seconds: float | None
    window_hours: float
    decisions_in_window: int
    decision_latency_seconds: StatsDecisionLatencySeconds
    expired_in_window: int
    expiry_rate: float | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.stats_by_risk_level import StatsByRiskLevel # noqa: PLC0415
        from ..models.stats_by_status import StatsByStatus # noqa: PLC0415
        from ..models.stats_decision_latency_seconds import StatsDecisionLatencySeconds # noqa: PLC0415
        from ..models.stats_pending_by_risk_level import StatsPendingByRiskLevel # noqa: PLC0415
        by_status = self.by_status.to_dict()

        by_risk_level = self.by_risk_level.to_dict()

        pending = self.pending

        pending_by_risk_level = self.pending_by_risk_level.to_dict()

        oldest_pending_age_seconds: float | None
        oldest_pending_age_seconds = self.oldest_pending_age_seconds

        window_hours = self.window_hours

        decisions_in_window = self.decisions_in_window

        decision_latency_seconds = self.decision_latency_seconds.to_dict()

        expired_in_window = self.expired_in_window

        expiry_rate: float | None
        expiry_rate = self.expiry_rate


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "by_status": by_status,
            "by_risk_level": by_risk_level,
            "pending": pending,
            "pending_by_risk_level": pending_by_risk_level,
            "oldest_pending_age_seconds": oldest_pending_age_seconds,
            "window_hours": window_hours,
            "decisions_in_window": decisions_in_window,
            "decision_latency_seconds": decision_latency_seconds,
            "expired_in_window": expired_in_window,
            "expiry_rate": expiry_rate,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.stats_by_risk_level import StatsByRiskLevel # noqa: PLC0415
        from ..models.stats_by_status import StatsByStatus # noqa: PLC0415
        from ..models.stats_decision_latency_seconds import StatsDecisionLatencySeconds # noqa: PLC0415
        from ..models.stats_pending_by_risk_level import StatsPendingByRiskLevel # noqa: PLC0415
        d = dict(src_dict)
        by_status = StatsByStatus.from_dict(d.pop("by_status"))




        by_risk_level = StatsByRiskLevel.from_dict(d.pop("by_risk_level"))




        pending = d.pop("pending")

        pending_by_risk_level = StatsPendingByRiskLevel.from_dict(d.pop("pending_by_risk_level"))




        def _parse_oldest_pending_age_seconds(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        oldest_pending_age_seconds = _parse_oldest_pending_age_seconds(d.pop("oldest_pending_age_seconds"))


        window_hours = d.pop("window_hours")

        decisions_in_window = d.pop("decisions_in_window")

        decision_latency_seconds = StatsDecisionLatencySeconds.from_dict(d.pop("decision_latency_seconds"))




        expired_in_window = d.pop("expired_in_window")

        def _parse_expiry_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        expiry_rate = _parse_expiry_rate(d.pop("expiry_rate"))


        stats = cls(
            by_status=by_status,
            by_risk_level=by_risk_level,
            pending=pending,
            pending_by_risk_level=pending_by_risk_level,
            oldest_pending_age_seconds=oldest_pending_age_seconds,
            window_hours=window_hours,
            decisions_in_window=decisions_in_window,
            decision_latency_seconds=decision_latency_seconds,
            expired_in_window=expired_in_window,
            expiry_rate=expiry_rate,
        )


        stats.additional_properties = d
        return stats

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
