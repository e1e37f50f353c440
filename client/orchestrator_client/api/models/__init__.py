""" Contains all the data models used in inputs/outputs """

from .action_request import ActionRequest
from .action_request_params import ActionRequestParams
from .actor import Actor
from .api_key import ApiKey
from .api_key_create_request import ApiKeyCreateRequest
from .api_key_created import ApiKeyCreated
from .approval import Approval
from .approval_ask_request import ApprovalAskRequest
from .approval_ask_request_context import ApprovalAskRequestContext
from .approval_ask_request_params import ApprovalAskRequestParams
from .approval_detail import ApprovalDetail
from .approval_status_enum import ApprovalStatusEnum
from .approval_trail import ApprovalTrail
from .approvals_list_risk_level_item import ApprovalsListRiskLevelItem
from .approvals_list_status_item import ApprovalsListStatusItem
from .approve_request import ApproveRequest
from .audit_actor import AuditActor
from .audit_actor_type_enum import AuditActorTypeEnum
from .audit_export_retrieve_format import AuditExportRetrieveFormat
from .audit_log import AuditLog
from .audit_stats import AuditStats
from .audit_stats_by_action import AuditStatsByAction
from .audit_stats_by_resource_type import AuditStatsByResourceType
from .blank_enum import BlankEnum
from .cancel_request import CancelRequest
from .chain_report import ChainReport
from .count import Count
from .decision import Decision
from .decision_enum import DecisionEnum
from .delivery_status_enum import DeliveryStatusEnum
from .event_type import EventType
from .event_type_list import EventTypeList
from .events_enum import EventsEnum
from .execute_request import ExecuteRequest
from .execute_response import ExecuteResponse
from .execution import Execution
from .input_submit_request import InputSubmitRequest
from .input_submit_request_values import InputSubmitRequestValues
from .lock_grant import LockGrant
from .lock_release_request import LockReleaseRequest
from .lock_released import LockReleased
from .lock_request_request import LockRequestRequest
from .lock_state import LockState
from .me import Me
from .me_tenants_item import MeTenantsItem
from .node import Node
from .node_definition_request import NodeDefinitionRequest
from .node_definition_request_action import NodeDefinitionRequestAction
from .node_definition_request_assignees import NodeDefinitionRequestAssignees
from .node_definition_request_conditions_item import NodeDefinitionRequestConditionsItem
from .node_definition_request_form import NodeDefinitionRequestForm
from .node_definition_request_retry import NodeDefinitionRequestRetry
from .node_definition_request_wait import NodeDefinitionRequestWait
from .node_detail import NodeDetail
from .node_input import NodeInput
from .node_input_submitted_by_type_0 import NodeInputSubmittedByType0
from .node_run import NodeRun
from .node_run_result_request import NodeRunResultRequest
from .node_run_result_response import NodeRunResultResponse
from .node_run_status_enum import NodeRunStatusEnum
from .node_status_enum import NodeStatusEnum
from .node_type_enum import NodeTypeEnum
from .on_failure_enum import OnFailureEnum
from .on_reject_enum import OnRejectEnum
from .operation_enum import OperationEnum
from .paginated_api_key_list import PaginatedApiKeyList
from .paginated_approval_list import PaginatedApprovalList
from .paginated_audit_log_list import PaginatedAuditLogList
from .paginated_run_list import PaginatedRunList
from .paginated_webhook_delivery_list import PaginatedWebhookDeliveryList
from .paginated_webhook_endpoint_list import PaginatedWebhookEndpointList
from .paginated_workspace_list import PaginatedWorkspaceList
from .patched_webhook_endpoint_write_request import PatchedWebhookEndpointWriteRequest
from .problem import Problem
from .problem_errors_item import ProblemErrorsItem
from .provider_enum import ProviderEnum
from .quorum import Quorum
from .reject_request import RejectRequest
from .reported_status_enum import ReportedStatusEnum
from .result_request import ResultRequest
from .risk_level_enum import RiskLevelEnum
from .risk_policy import RiskPolicy
from .risk_policy_request import RiskPolicyRequest
from .routing import Routing
from .routing_request import RoutingRequest
from .run import Run
from .run_detail import RunDetail
from .run_status_enum import RunStatusEnum
from .scopes_enum import ScopesEnum
from .secret_rotated import SecretRotated
from .source_enum import SourceEnum
from .stats import Stats
from .stats_by_risk_level import StatsByRiskLevel
from .stats_by_status import StatsByStatus
from .stats_decision_latency_seconds import StatsDecisionLatencySeconds
from .stats_pending_by_risk_level import StatsPendingByRiskLevel
from .step_up_enum import StepUpEnum
from .verification import Verification
from .webhook_attempt import WebhookAttempt
from .webhook_delivery import WebhookDelivery
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_created import WebhookEndpointCreated
from .webhook_endpoint_write_request import WebhookEndpointWriteRequest
from .webhook_test_result import WebhookTestResult
from .webhooks_deliveries_list_status import WebhooksDeliveriesListStatus
from .workflow_create_request import WorkflowCreateRequest
from .workflow_create_request_metadata import WorkflowCreateRequestMetadata
from .workflows_list_status import WorkflowsListStatus
from .workspace import Workspace
from .workspace_create_request import WorkspaceCreateRequest
from .workspace_create_request_metadata import WorkspaceCreateRequestMetadata
from .workspace_ref import WorkspaceRef
from .workspace_status import WorkspaceStatus
from .workspace_status_enum import WorkspaceStatusEnum
from .workspaces_list_status import WorkspacesListStatus

__all__ = (
    "ActionRequest",
    "ActionRequestParams",
    "Actor",
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyCreateRequest",
    "Approval",
    "ApprovalAskRequest",
    "ApprovalAskRequestContext",
    "ApprovalAskRequestParams",
    "ApprovalDetail",
    "ApprovalsListRiskLevelItem",
    "ApprovalsListStatusItem",
    "ApprovalStatusEnum",
    "ApprovalTrail",
    "ApproveRequest",
    "AuditActor",
    "AuditActorTypeEnum",
    "AuditExportRetrieveFormat",
    "AuditLog",
    "AuditStats",
    "AuditStatsByAction",
    "AuditStatsByResourceType",
    "BlankEnum",
    "CancelRequest",
    "ChainReport",
    "Count",
    "Decision",
    "DecisionEnum",
    "DeliveryStatusEnum",
    "EventsEnum",
    "EventType",
    "EventTypeList",
    "ExecuteRequest",
    "ExecuteResponse",
    "Execution",
    "InputSubmitRequest",
    "InputSubmitRequestValues",
    "LockGrant",
    "LockReleased",
    "LockReleaseRequest",
    "LockRequestRequest",
    "LockState",
    "Me",
    "MeTenantsItem",
    "Node",
    "NodeDefinitionRequest",
    "NodeDefinitionRequestAction",
    "NodeDefinitionRequestAssignees",
    "NodeDefinitionRequestConditionsItem",
    "NodeDefinitionRequestForm",
    "NodeDefinitionRequestRetry",
    "NodeDefinitionRequestWait",
    "NodeDetail",
    "NodeInput",
    "NodeInputSubmittedByType0",
    "NodeRun",
    "NodeRunResultRequest",
    "NodeRunResultResponse",
    "NodeRunStatusEnum",
    "NodeStatusEnum",
    "NodeTypeEnum",
    "OnFailureEnum",
    "OnRejectEnum",
    "OperationEnum",
    "PaginatedApiKeyList",
    "PaginatedApprovalList",
    "PaginatedAuditLogList",
    "PaginatedRunList",
    "PaginatedWebhookDeliveryList",
    "PaginatedWebhookEndpointList",
    "PaginatedWorkspaceList",
    "PatchedWebhookEndpointWriteRequest",
    "Problem",
    "ProblemErrorsItem",
    "ProviderEnum",
    "Quorum",
    "RejectRequest",
    "ReportedStatusEnum",
    "ResultRequest",
    "RiskLevelEnum",
    "RiskPolicy",
    "RiskPolicyRequest",
    "Routing",
    "RoutingRequest",
    "Run",
    "RunDetail",
    "RunStatusEnum",
    "ScopesEnum",
    "SecretRotated",
    "SourceEnum",
    "Stats",
    "StatsByRiskLevel",
    "StatsByStatus",
    "StatsDecisionLatencySeconds",
    "StatsPendingByRiskLevel",
    "StepUpEnum",
    "Verification",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointCreated",
    "WebhookEndpointWriteRequest",
    "WebhooksDeliveriesListStatus",
    "WebhookTestResult",
    "WorkflowCreateRequest",
    "WorkflowCreateRequestMetadata",
    "WorkflowsListStatus",
    "Workspace",
    "WorkspaceCreateRequest",
    "WorkspaceCreateRequestMetadata",
    "WorkspaceRef",
    "WorkspacesListStatus",
    "WorkspaceStatus",
    "WorkspaceStatusEnum",
)
