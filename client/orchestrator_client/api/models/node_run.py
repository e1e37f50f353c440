from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.node_run_status_enum import check_node_run_status_enum
from ..models.node_run_status_enum import NodeRunStatusEnum
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="NodeRun")



@_attrs_define
class NodeRun:
    """ 
        Attributes:
            id (UUID):
            attempt (int):
            status (NodeRunStatusEnum): * `RUNNING` - Running
                * `COMPLETED` - Completed
                * `FAILED` - Failed
                * `CANCELLED` - Cancelled
            input_ (Any):
            output (Any):
            error (str):
            lease_owner (str):
            lease_expires_at (datetime.datetime | None):
            timeout_at (datetime.datetime | None):
            external_task_id (str):
            started_at (datetime.datetime):
            finished_at (datetime.datetime | None):
     """

    id: UUID
    attempt: int
    status: NodeRunStatusEnum
    input_: Any
    output: Any
    error: str
    lease_owner: str
    lease_expires_at: datetime.datetime | None
    timeout_at: datetime.datetime | None
    external_task_id: str
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        attempt = self.attempt

        status: str = self.status

        input_ = self.input_

        output = self.output

        error = self.error

        lease_owner = self.lease_owner

        lease_expires_at: None | str
        if isinstance(self.lease_expires_at, datetime.datetime):
            lease_expires_at = self.lease_expires_at.isoformat()
        else:
            lease_expires_at = self.lease_expires_at

        timeout_at: None | str
        if isinstance(self.timeout_at, datetime.datetime):
            timeout_at = self.timeout_at.isoformat()
        else:
            timeout_at = self.timeout_at

        external_task_id = self.external_task_id

        started_at = self.started_at.isoformat()

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "attempt": attempt,
            "status": status,
            "input": input_,
            "output": output,
            "error": error,
            "lease_owner": lease_owner,
            "lease_expires_at": lease_expires_at,
            "timeout_at": timeout_at,
            "external_task_id": external_task_id,
            "started_at": started_at,
            "finished_at": finished_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        attempt = d.pop("attempt")

        status = check_node_run_status_enum(d.pop("status"))




        input_ = d.pop("input")

        output = d.pop("output")

        error = d.pop("error")

        lease_owner = d.pop("lease_owner")

        def _parse_lease_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                lease_expires_at_type_0 = datetime.datetime.fromisoformat(data)



                return lease_expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        lease_expires_at = _parse_lease_expires_at(d.pop("lease_expires_at"))


        def _parse_timeout_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timeout_at_type_0 = datetime.datetime.fromisoformat(data)



                return timeout_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        timeout_at = _parse_timeout_at(d.pop("timeout_at"))


        external_task_id = d.pop("external_task_id")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))




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


        node_run = cls(
            id=id,
            attempt=attempt,
            status=status,
            input_=input_,
            output=output,
            error=error,
            lease_owner=lease_owner,
            lease_expires_at=lease_expires_at,
            timeout_at=timeout_at,
            external_task_id=external_task_id,
            started_at=started_at,
            finished_at=finished_at,
        )


        node_run.additional_properties = d
        return node_run

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
