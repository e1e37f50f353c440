from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.node_status_enum import check_node_status_enum
from ..models.node_status_enum import NodeStatusEnum
from ..models.risk_level_enum import check_risk_level_enum
from ..models.risk_level_enum import RiskLevelEnum
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.node_input import NodeInput
  from ..models.node_run import NodeRun





T = TypeVar("T", bound="NodeDetail")



@_attrs_define
class NodeDetail:
    """ 
        Attributes:
            run_id (UUID):
            key (str):
            type_ (str):
            name (str):
            status (NodeStatusEnum): * `PENDING` - Pending
                * `READY` - Ready
                * `RUNNING` - Running
                * `WAITING_APPROVAL` - Waiting Approval
                * `WAITING` - Waiting
                * `COMPLETED` - Completed
                * `FAILED` - Failed
                * `SKIPPED` - Skipped
                * `CANCELLED` - Cancelled
            depends_on (Any):
            definition (Any): The node's definition as submitted and validated (type-specific fields). Its
                `requires_approval` is what the workflow asked for; the node's own `requires_approval` is what the policy
                decided.
            requires_approval (bool): Whether this step needs a person's approval before it runs: true while it waits for
                approval or once it ran with an approved request, false once it ran without one; for a step not reached yet,
                what the tenant's risk policy decides for its action now (or because the definition asks for approval). Always
                false for control steps.
            risk_level (None | RiskLevelEnum): The risk level the tenant's policy gives this step's action (null for control
                steps).

                * `LOW` - Low
                * `MEDIUM` - Medium
                * `HIGH` - High
                * `CRITICAL` - Critical
            input_ (NodeInput | None): INPUT steps: the prompt, form, assignees, due time and who submitted (null for other
                types).
            attempts (int):
            output (Any):
            error (str):
            not_before (datetime.datetime | None):
            started_at (datetime.datetime | None):
            finished_at (datetime.datetime | None):
            node_runs (list[NodeRun]):
     """

    run_id: UUID
    key: str
    type_: str
    name: str
    status: NodeStatusEnum
    depends_on: Any
    definition: Any
    requires_approval: bool
    risk_level: None | RiskLevelEnum
    input_: NodeInput | None
    attempts: int
    output: Any
    error: str
    not_before: datetime.datetime | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    node_runs: list[NodeRun]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.node_input import NodeInput # noqa: PLC0415
        from ..models.node_run import NodeRun # noqa: PLC0415
        run_id = str(self.run_id)

        key = self.key

        type_ = self.type_

        name = self.name

        status: str = self.status

        depends_on = self.depends_on

        definition = self.definition

        requires_approval = self.requires_approval

        risk_level: None | str
        if isinstance(self.risk_level, str):
            risk_level = self.risk_level
        else:
            risk_level = self.risk_level

        input_: dict[str, Any] | None
        if isinstance(self.input_, NodeInput):
            input_ = self.input_.to_dict()
        else:
            input_ = self.input_

        attempts = self.attempts

        output = self.output

        error = self.error

        not_before: None | str
        if isinstance(self.not_before, datetime.datetime):
            not_before = self.not_before.isoformat()
        else:
            not_before = self.not_before

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        node_runs = []
        for node_runs_item_data in self.node_runs:
            node_runs_item = node_runs_item_data.to_dict()
            node_runs.append(node_runs_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "run_id": run_id,
            "key": key,
            "type": type_,
            "name": name,
            "status": status,
            "depends_on": depends_on,
            "definition": definition,
            "requires_approval": requires_approval,
            "risk_level": risk_level,
            "input": input_,
            "attempts": attempts,
            "output": output,
            "error": error,
            "not_before": not_before,
            "started_at": started_at,
            "finished_at": finished_at,
            "node_runs": node_runs,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_input import NodeInput # noqa: PLC0415
        from ..models.node_run import NodeRun # noqa: PLC0415
        d = dict(src_dict)
        run_id = UUID(d.pop("run_id"))




        key = d.pop("key")

        type_ = d.pop("type")

        name = d.pop("name")

        status = check_node_status_enum(d.pop("status"))




        depends_on = d.pop("depends_on")

        definition = d.pop("definition")

        requires_approval = d.pop("requires_approval")

        def _parse_risk_level(data: object) -> None | RiskLevelEnum:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                risk_level_type_0 = check_risk_level_enum(data)



                return risk_level_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RiskLevelEnum, data)

        risk_level = _parse_risk_level(d.pop("risk_level"))


        def _parse_input_(data: object) -> NodeInput | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                input_type_1 = NodeInput.from_dict(data)



                return input_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NodeInput | None, data)

        input_ = _parse_input_(d.pop("input"))


        attempts = d.pop("attempts")

        output = d.pop("output")

        error = d.pop("error")

        def _parse_not_before(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                not_before_type_0 = datetime.datetime.fromisoformat(data)



                return not_before_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        not_before = _parse_not_before(d.pop("not_before"))


        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)



                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))


        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)



                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))


        node_runs = []
        _node_runs = d.pop("node_runs")
        for node_runs_item_data in (_node_runs):
            node_runs_item = NodeRun.from_dict(node_runs_item_data)



            node_runs.append(node_runs_item)


        node_detail = cls(
            run_id=run_id,
            key=key,
            type_=type_,
            name=name,
            status=status,
            depends_on=depends_on,
            definition=definition,
            requires_approval=requires_approval,
            risk_level=risk_level,
            input_=input_,
            attempts=attempts,
            output=output,
            error=error,
            not_before=not_before,
            started_at=started_at,
            finished_at=finished_at,
            node_runs=node_runs,
        )


        node_detail.additional_properties = d
        return node_detail

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
