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
  from ..models.approval_ask_request_context import ApprovalAskRequestContext
  from ..models.approval_ask_request_params import ApprovalAskRequestParams





T = TypeVar("T", bound="ApprovalAskRequest")



@_attrs_define
class ApprovalAskRequest:
    """ 
        Attributes:
            workflow_id (UUID):
            node_key (str):
            tool (str):
            params (ApprovalAskRequestParams | Unset):
            context (ApprovalAskRequestContext | Unset):
            reasoning (str | Unset):  Default: ''.
     """

    workflow_id: UUID
    node_key: str
    tool: str
    params: ApprovalAskRequestParams | Unset = UNSET
    context: ApprovalAskRequestContext | Unset = UNSET
    reasoning: str | Unset = ''
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.approval_ask_request_context import ApprovalAskRequestContext # noqa: PLC0415
        from ..models.approval_ask_request_params import ApprovalAskRequestParams # noqa: PLC0415
        workflow_id = str(self.workflow_id)

        node_key = self.node_key

        tool = self.tool

        params: dict[str, Any] | Unset = UNSET
        if not isinstance(self.params, Unset):
            params = self.params.to_dict()

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        reasoning = self.reasoning


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "workflow_id": workflow_id,
            "node_key": node_key,
            "tool": tool,
        })
        if params is not UNSET:
            field_dict["params"] = params
        if context is not UNSET:
            field_dict["context"] = context
        if reasoning is not UNSET:
            field_dict["reasoning"] = reasoning

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.approval_ask_request_context import ApprovalAskRequestContext # noqa: PLC0415
        from ..models.approval_ask_request_params import ApprovalAskRequestParams # noqa: PLC0415
        d = dict(src_dict)
        workflow_id = UUID(d.pop("workflow_id"))




        node_key = d.pop("node_key")

        tool = d.pop("tool")

        _params = d.pop("params", UNSET)
        params: ApprovalAskRequestParams | Unset
        if isinstance(_params,  Unset):
            params = UNSET
        else:
            params = ApprovalAskRequestParams.from_dict(_params)




        _context = d.pop("context", UNSET)
        context: ApprovalAskRequestContext | Unset
        if isinstance(_context,  Unset):
            context = UNSET
        else:
            context = ApprovalAskRequestContext.from_dict(_context)




        reasoning = d.pop("reasoning", UNSET)

        approval_ask_request = cls(
            workflow_id=workflow_id,
            node_key=node_key,
            tool=tool,
            params=params,
            context=context,
            reasoning=reasoning,
        )


        approval_ask_request.additional_properties = d
        return approval_ask_request

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
