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
  from ..models.node_definition_request import NodeDefinitionRequest
  from ..models.workflow_create_request_metadata import WorkflowCreateRequestMetadata





T = TypeVar("T", bound="WorkflowCreateRequest")



@_attrs_define
class WorkflowCreateRequest:
    """ 
        Attributes:
            name (str):
            nodes (list[NodeDefinitionRequest]):
            description (str | Unset):
            workspace_id (None | Unset | UUID):
            metadata (WorkflowCreateRequestMetadata | Unset):
            start (bool | Unset):  Default: False.
            tenant_id (UUID | Unset): Only for people who belong to several tenants.
     """

    name: str
    nodes: list[NodeDefinitionRequest]
    description: str | Unset = UNSET
    workspace_id: None | Unset | UUID = UNSET
    metadata: WorkflowCreateRequestMetadata | Unset = UNSET
    start: bool | Unset = False
    tenant_id: UUID | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.node_definition_request import NodeDefinitionRequest # noqa: PLC0415
        from ..models.workflow_create_request_metadata import WorkflowCreateRequestMetadata # noqa: PLC0415
        name = self.name

        nodes = []
        for nodes_item_data in self.nodes:
            nodes_item = nodes_item_data.to_dict()
            nodes.append(nodes_item)



        description = self.description

        workspace_id: None | str | Unset
        if isinstance(self.workspace_id, Unset):
            workspace_id = UNSET
        elif isinstance(self.workspace_id, UUID):
            workspace_id = str(self.workspace_id)
        else:
            workspace_id = self.workspace_id

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        start = self.start

        tenant_id: str | Unset = UNSET
        if not isinstance(self.tenant_id, Unset):
            tenant_id = str(self.tenant_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "name": name,
            "nodes": nodes,
        })
        if description is not UNSET:
            field_dict["description"] = description
        if workspace_id is not UNSET:
            field_dict["workspace_id"] = workspace_id
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if start is not UNSET:
            field_dict["start"] = start
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_definition_request import NodeDefinitionRequest # noqa: PLC0415
        from ..models.workflow_create_request_metadata import WorkflowCreateRequestMetadata # noqa: PLC0415
        d = dict(src_dict)
        name = d.pop("name")

        nodes = []
        _nodes = d.pop("nodes")
        for nodes_item_data in (_nodes):
            nodes_item = NodeDefinitionRequest.from_dict(nodes_item_data)



            nodes.append(nodes_item)


        description = d.pop("description", UNSET)

        def _parse_workspace_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                workspace_id_type_0 = UUID(data)



                return workspace_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        workspace_id = _parse_workspace_id(d.pop("workspace_id", UNSET))


        _metadata = d.pop("metadata", UNSET)
        metadata: WorkflowCreateRequestMetadata | Unset
        if isinstance(_metadata,  Unset):
            metadata = UNSET
        else:
            metadata = WorkflowCreateRequestMetadata.from_dict(_metadata)




        start = d.pop("start", UNSET)

        _tenant_id = d.pop("tenant_id", UNSET)
        tenant_id: UUID | Unset
        if isinstance(_tenant_id,  Unset):
            tenant_id = UNSET
        else:
            tenant_id = UUID(_tenant_id)




        workflow_create_request = cls(
            name=name,
            nodes=nodes,
            description=description,
            workspace_id=workspace_id,
            metadata=metadata,
            start=start,
            tenant_id=tenant_id,
        )


        workflow_create_request.additional_properties = d
        return workflow_create_request

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
