from typing import Literal

EventsEnum = Literal['*', 'approval.approved', 'approval.escalated', 'approval.executed', 'approval.expired', 'approval.rejected', 'approval.requested', 'audit.checkpoint', 'input.expired', 'input.requested', 'input.submitted', 'node.failed', 'node.recovered', 'webhook.created', 'webhook.deleted', 'webhook.secret_rotated', 'webhook.test', 'webhook.updated', 'workflow.cancelled', 'workflow.completed', 'workflow.created', 'workflow.failed', 'workflow.started', 'workspace.hibernated', 'workspace.lock_acquired', 'workspace.lock_released', 'workspace.provisioned', 'workspace.terminated']

EVENTS_ENUM_VALUES: set[EventsEnum] = { '*', 'approval.approved', 'approval.escalated', 'approval.executed', 'approval.expired', 'approval.rejected', 'approval.requested', 'audit.checkpoint', 'input.expired', 'input.requested', 'input.submitted', 'node.failed', 'node.recovered', 'webhook.created', 'webhook.deleted', 'webhook.secret_rotated', 'webhook.test', 'webhook.updated', 'workflow.cancelled', 'workflow.completed', 'workflow.created', 'workflow.failed', 'workflow.started', 'workspace.hibernated', 'workspace.lock_acquired', 'workspace.lock_released', 'workspace.provisioned', 'workspace.terminated',  }

def check_events_enum(value: str) -> EventsEnum:
    if value in EVENTS_ENUM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {EVENTS_ENUM_VALUES!r}")
