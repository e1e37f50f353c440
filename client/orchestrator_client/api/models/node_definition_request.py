from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.node_type_enum import check_node_type_enum
from ..models.node_type_enum import NodeTypeEnum
from ..models.on_failure_enum import check_on_failure_enum
from ..models.on_failure_enum import OnFailureEnum
from ..models.on_reject_enum import check_on_reject_enum
from ..models.on_reject_enum import OnRejectEnum
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.node_definition_request_action import NodeDefinitionRequestAction
  from ..models.node_definition_request_assignees import NodeDefinitionRequestAssignees
  from ..models.node_definition_request_conditions_item import NodeDefinitionRequestConditionsItem
  from ..models.node_definition_request_form import NodeDefinitionRequestForm
  from ..models.node_definition_request_retry import NodeDefinitionRequestRetry
  from ..models.node_definition_request_wait import NodeDefinitionRequestWait





T = TypeVar("T", bound="NodeDefinitionRequest")



@_attrs_define
class NodeDefinitionRequest:
    """ One step of a workflow: the fields every type has, and each type's own fields (their descriptions name the
    types that accept them). The server checks the whole definition and answers 400 naming each wrong field.

        Attributes:
            key (str):
            type_ (NodeTypeEnum): * `TASK` - TASK
                * `DECISION` - DECISION
                * `PARALLEL` - PARALLEL
                * `WAIT` - WAIT
                * `INPUT` - INPUT
            name (str | Unset):
            depends_on (list[str] | Unset):
            on_failure (OnFailureEnum | Unset): * `fail` - fail
                * `continue` - continue
            action (NodeDefinitionRequestAction | Unset): TASK: {"tool", "params"}: an action in the catalogue of the
                executor that runs it
            executor (str | Unset): TASK: the executor that runs it, where several are configured (EXECUTOR_CHOICES)
            on_reject (OnRejectEnum | Unset): * `fail` - fail
                * `skip` - skip
            requires_approval (bool | Unset): TASK: ask a person even when the risk policy would not
            retry (NodeDefinitionRequestRetry | Unset): TASK: max_attempts, backoff_seconds, max_backoff_seconds
            timeout_seconds (float | Unset): TASK: bound of one attempt (> 0)
            conditions (list[NodeDefinitionRequestConditionsItem] | Unset): DECISION: [{"when", "then"}]: the first that
                holds is taken
            default (Any | Unset): DECISION: taken when no condition holds (null: the step fails); INPUT: values taken when
                nobody submits in time (instead of failing)
            branches (list[str] | Unset): PARALLEL: steps that all start when this one completes
            wait (NodeDefinitionRequestWait | Unset): WAIT: {"seconds": n} or {"until": ISO 8601 with a timezone}, at most
                MAX_WAIT_DAYS (default 366) ahead
            assignees (NodeDefinitionRequestAssignees | Unset): INPUT: {"groups": [...]}: who may submit (none: any reviewer
                of the tenant)
            due_in_minutes (float | Unset): INPUT: minutes to wait for the input (default 1440; at most MAX_WAIT_DAYS)
                before input_expired
            form (NodeDefinitionRequestForm | Unset): INPUT: a JSON Schema object whose properties are string (x-multiline:
                a text area), number, integer, boolean or enum fields
            prompt (str | Unset): INPUT: what the person is asked
     """

    key: str
    type_: NodeTypeEnum
    name: str | Unset = UNSET
    depends_on: list[str] | Unset = UNSET
    on_failure: OnFailureEnum | Unset = UNSET
    action: NodeDefinitionRequestAction | Unset = UNSET
    executor: str | Unset = UNSET
    on_reject: OnRejectEnum | Unset = UNSET
    requires_approval: bool | Unset = UNSET
    retry: NodeDefinitionRequestRetry | Unset = UNSET
    timeout_seconds: float | Unset = UNSET
    conditions: list[NodeDefinitionRequestConditionsItem] | Unset = UNSET
    default: Any | Unset = UNSET
    branches: list[str] | Unset = UNSET
    wait: NodeDefinitionRequestWait | Unset = UNSET
    assignees: NodeDefinitionRequestAssignees | Unset = UNSET
    due_in_minutes: float | Unset = UNSET
    form: NodeDefinitionRequestForm | Unset = UNSET
    prompt: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.node_definition_request_action import NodeDefinitionRequestAction # noqa: PLC0415
        from ..models.node_definition_request_assignees import NodeDefinitionRequestAssignees # noqa: PLC0415
        from ..models.node_definition_request_conditions_item import NodeDefinitionRequestConditionsItem # noqa: PLC0415
        from ..models.node_definition_request_form import NodeDefinitionRequestForm # noqa: PLC0415
        from ..models.node_definition_request_retry import NodeDefinitionRequestRetry # noqa: PLC0415
        from ..models.node_definition_request_wait import NodeDefinitionRequestWait # noqa: PLC0415
        key = self.key

        type_: str = self.type_

        name = self.name

        depends_on: list[str] | Unset = UNSET
        if not isinstance(self.depends_on, Unset):
            depends_on = self.depends_on



        on_failure: str | Unset = UNSET
        if not isinstance(self.on_failure, Unset):
            on_failure = self.on_failure


        action: dict[str, Any] | Unset = UNSET
        if not isinstance(self.action, Unset):
            action = self.action.to_dict()

        executor = self.executor

        on_reject: str | Unset = UNSET
        if not isinstance(self.on_reject, Unset):
            on_reject = self.on_reject


        requires_approval = self.requires_approval

        retry: dict[str, Any] | Unset = UNSET
        if not isinstance(self.retry, Unset):
            retry = self.retry.to_dict()

        timeout_seconds = self.timeout_seconds

        conditions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.conditions, Unset):
            conditions = []
            for conditions_item_data in self.conditions:
                conditions_item = conditions_item_data.to_dict()
                conditions.append(conditions_item)



        default = self.default

        branches: list[str] | Unset = UNSET
        if not isinstance(self.branches, Unset):
            branches = self.branches



        wait: dict[str, Any] | Unset = UNSET
        if not isinstance(self.wait, Unset):
            wait = self.wait.to_dict()

        assignees: dict[str, Any] | Unset = UNSET
        if not isinstance(self.assignees, Unset):
            assignees = self.assignees.to_dict()

        due_in_minutes = self.due_in_minutes

        form: dict[str, Any] | Unset = UNSET
        if not isinstance(self.form, Unset):
            form = self.form.to_dict()

        prompt = self.prompt


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "key": key,
            "type": type_,
        })
        if name is not UNSET:
            field_dict["name"] = name
        if depends_on is not UNSET:
            field_dict["depends_on"] = depends_on
        if on_failure is not UNSET:
            field_dict["on_failure"] = on_failure
        if action is not UNSET:
            field_dict["action"] = action
        if executor is not UNSET:
            field_dict["executor"] = executor
        if on_reject is not UNSET:
            field_dict["on_reject"] = on_reject
        if requires_approval is not UNSET:
            field_dict["requires_approval"] = requires_approval
        if retry is not UNSET:
            field_dict["retry"] = retry
        if timeout_seconds is not UNSET:
            field_dict["timeout_seconds"] = timeout_seconds
        if conditions is not UNSET:
            field_dict["conditions"] = conditions
        if default is not UNSET:
            field_dict["default"] = default
        if branches is not UNSET:
            field_dict["branches"] = branches
        if wait is not UNSET:
            field_dict["wait"] = wait
        if assignees is not UNSET:
            field_dict["assignees"] = assignees
        if due_in_minutes is not UNSET:
            field_dict["due_in_minutes"] = due_in_minutes
        if form is not UNSET:
            field_dict["form"] = form
        if prompt is not UNSET:
            field_dict["prompt"] = prompt

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_definition_request_action import NodeDefinitionRequestAction # noqa: PLC0415
        from ..models.node_definition_request_assignees import NodeDefinitionRequestAssignees # noqa: PLC0415
        from ..models.node_definition_request_conditions_item import NodeDefinitionRequestConditionsItem # noqa: PLC0415
        from ..models.node_definition_request_form import NodeDefinitionRequestForm # noqa: PLC0415
        from ..models.node_definition_request_retry import NodeDefinitionRequestRetry # noqa: PLC0415
        from ..models.node_definition_request_wait import NodeDefinitionRequestWait # noqa: PLC0415
        d = dict(src_dict)
        key = d.pop("key")

        type_ = check_node_type_enum(d.pop("type"))




        name = d.pop("name", UNSET)

        depends_on = cast(list[str], d.pop("depends_on", UNSET))


        _on_failure = d.pop("on_failure", UNSET)
        on_failure: OnFailureEnum | Unset
        if isinstance(_on_failure,  Unset):
            on_failure = UNSET
        else:
            on_failure = check_on_failure_enum(_on_failure)




        _action = d.pop("action", UNSET)
        action: NodeDefinitionRequestAction | Unset
        if isinstance(_action,  Unset):
            action = UNSET
        else:
            action = NodeDefinitionRequestAction.from_dict(_action)




        executor = d.pop("executor", UNSET)

        _on_reject = d.pop("on_reject", UNSET)
        on_reject: OnRejectEnum | Unset
        if isinstance(_on_reject,  Unset):
            on_reject = UNSET
        else:
            on_reject = check_on_reject_enum(_on_reject)




        requires_approval = d.pop("requires_approval", UNSET)

        _retry = d.pop("retry", UNSET)
        retry: NodeDefinitionRequestRetry | Unset
        if isinstance(_retry,  Unset):
            retry = UNSET
        else:
            retry = NodeDefinitionRequestRetry.from_dict(_retry)




        timeout_seconds = d.pop("timeout_seconds", UNSET)

        _conditions = d.pop("conditions", UNSET)
        conditions: list[NodeDefinitionRequestConditionsItem] | Unset = UNSET
        if _conditions is not UNSET:
            conditions = []
            for conditions_item_data in _conditions:
                conditions_item = NodeDefinitionRequestConditionsItem.from_dict(conditions_item_data)



                conditions.append(conditions_item)


        default = d.pop("default", UNSET)

        branches = cast(list[str], d.pop("branches", UNSET))


        _wait = d.pop("wait", UNSET)
        wait: NodeDefinitionRequestWait | Unset
        if isinstance(_wait,  Unset):
            wait = UNSET
        else:
            wait = NodeDefinitionRequestWait.from_dict(_wait)




        _assignees = d.pop("assignees", UNSET)
        assignees: NodeDefinitionRequestAssignees | Unset
        if isinstance(_assignees,  Unset):
            assignees = UNSET
        else:
            assignees = NodeDefinitionRequestAssignees.from_dict(_assignees)




        due_in_minutes = d.pop("due_in_minutes", UNSET)

        _form = d.pop("form", UNSET)
        form: NodeDefinitionRequestForm | Unset
        if isinstance(_form,  Unset):
            form = UNSET
        else:
            form = NodeDefinitionRequestForm.from_dict(_form)




        prompt = d.pop("prompt", UNSET)

        node_definition_request = cls(
            key=key,
            type_=type_,
            name=name,
            depends_on=depends_on,
            on_failure=on_failure,
            action=action,
            executor=executor,
            on_reject=on_reject,
            requires_approval=requires_approval,
            retry=retry,
            timeout_seconds=timeout_seconds,
            conditions=conditions,
            default=default,
            branches=branches,
            wait=wait,
            assignees=assignees,
            due_in_minutes=due_in_minutes,
            form=form,
            prompt=prompt,
        )


        node_definition_request.additional_properties = d
        return node_definition_request

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
