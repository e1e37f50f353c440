"""What the OpenAPI document says about each operation, written for the people who call the API.

drf-spectacular takes an operation's description from the view's docstring, falling back through its base
classes: every operation of a viewset without a docstring of its own carried a mixin's note for maintainers
("``ListModelMixin`` whose rows are rendered by …", issue 21). Docstrings stay for maintainers; the schema's
summaries, descriptions and examples come from here instead: ``OPERATIONS`` by operationId, applied by the
post-processing hook ``describe_operations``. An operation missing from the table keeps a summary derived from
its method and path and loses any docstring-derived description (tests/orchestrator/test_api_presentation.py
checks that no internal name reaches the document).
"""

from __future__ import annotations

import re
from typing import Any

Doc = dict[str, Any]

WORKFLOW_EXAMPLE: dict[str, Any] = {
    "name": "Quarterly invoice run",
    "start": True,
    "nodes": [
        {
            "key": "fetch",
            "type": "TASK",
            "name": "Fetch invoices",
            "action": {"tool": "http.request", "params": {"method": "GET", "url": "https://billing.example.com/due"}},
            "retry": {"max_attempts": 3, "backoff_seconds": 5},
        },
        {
            "key": "send",
            "type": "TASK",
            "depends_on": ["fetch"],
            "action": {
                "tool": "email.send",
                "params": {"to": "finance@example.com", "subject": "Invoices due", "body": "Two invoices are due."},
            },
        },
    ],
}

RUN_EXAMPLE: dict[str, Any] = {
    "id": "7d3c1b8e-2f4a-4c1e-9a55-0c6f1e2d3b4a",
    "name": "Quarterly invoice run",
    "status": "RUNNING",
    "nodes": [
        {"key": "fetch", "type": "TASK", "status": "COMPLETED", "requires_approval": False, "risk_level": "LOW"},
        {"key": "send", "type": "TASK", "status": "WAITING_APPROVAL", "requires_approval": True, "risk_level": "HIGH"},
    ],
}

OPERATIONS: dict[str, Doc] = {
    # Workflows
    "workflows_list": {
        "summary": "List workflow runs",
        "description": "Runs of your tenants, newest first. Filter by `status`, `name` (contains), "
        "`created_after`/`created_before` (ISO 8601) and `workspace_id`.",
    },
    "workflows_create": {
        "summary": "Create a workflow run",
        "description": "Submit a DAG of steps. Every problem in the definition comes back at once in one 400, each "
        'with its exact path (`nodes[2].depends_on[0]`). With `"start": true` the run starts immediately. Send an '
        "`Idempotency-Key` header to make retries safe.",
        "request_example": WORKFLOW_EXAMPLE,
        "response_example": RUN_EXAMPLE,
    },
    "workflows_retrieve": {
        "summary": "Read a workflow run with its steps",
        "description": "The run and its steps in the order they were defined. Each step says whether it needs a "
        "person's approval (`requires_approval`, as the risk policy decided) and its `risk_level`. Poll this to "
        "follow a run, or subscribe a webhook.",
        "response_example": RUN_EXAMPLE,
    },
    "workflows_start_create": {
        "summary": "Start a workflow run",
        "description": "Starts a PENDING run; its first steps are scheduled right away. 409 if it already started.",
    },
    "workflows_cancel_create": {
        "summary": "Cancel a workflow run",
        "description": "Stops a pending or running run; running steps are told to stop and pending approval "
        "requests are withdrawn. The optional `reason` is kept on the run. 409 if the run already finished.",
        "request_example": {"reason": "Wrong quarter, resubmitting."},
    },
    "workflows_nodes_retrieve": {
        "summary": "Read one step of a workflow run",
        "description": "The step with each of its attempts (input, output, error, timings).",
    },
    "workflows_nodes_retry_create": {
        "summary": "Retry a failed step",
        "description": "Runs a FAILED step again with a fresh retry budget; its run resumes. 409 for any other state.",
    },
    # Approvals
    "approvals_list": {
        "summary": "List approval requests",
        "description": "Requests of your tenants, most urgent first. Only PENDING ones unless you pass `status` "
        "(or `status=ALL`). Filter by `risk_level`, `tool` and run.",
    },
    "approvals_retrieve": {
        "summary": "Read an approval request",
        "description": "What the action does (tool, parameters and a readable preview), why it needs approval, "
        "who asked, the decisions so far against the quorum, and when it expires.",
    },
    "approvals_approve_create": {
        "summary": "Approve a request",
        "description": "Records your approval; the action runs once the quorum is reached. The reason is optional "
        "but kept in the audit trail. 403 if you asked for the action yourself or your role cannot decide, 409 if "
        "it was decided already, 410 once it expired.",
        "request_example": {"reason": "Amounts match the quarterly report."},
    },
    "approvals_reject_create": {
        "summary": "Reject a request",
        "description": "Rejects the action; the workflow step fails or is skipped as its definition says, and the "
        "reason (required) is passed on. Same refusals as approving.",
        "request_example": {"reason": "The recipient list includes an external address."},
    },
    "approvals_request_create": {
        "summary": "Ask for approval of an action",
        "description": "From inside a running step: ask whether an action may run. A low-risk action answers "
        "`requires_approval: false` at once; otherwise you get the request (201 when new, 200 when the same action "
        "was asked before).",
        "request_example": {
            "workflow_id": "7d3c1b8e-2f4a-4c1e-9a55-0c6f1e2d3b4a",
            "node_key": "send",
            "tool": "email.send",
            "params": {"to": "finance@example.com", "subject": "Invoices due", "body": "Two invoices are due."},
            "reasoning": "The invoices are overdue.",
        },
    },
    "approvals_execute_create": {
        "summary": "Claim the execution of an approved action",
        "description": "For actions run outside the orchestrator: claim the single execution of an APPROVED "
        "request with the exact action that was approved. A second claim is a 409; an expired approval is a 410.",
    },
    "approvals_result_create": {
        "summary": "Report an execution's result",
        "description": "Report how a claimed execution ended (COMPLETED or FAILED, with output or error). The first "
        "report wins; later ones are a 409.",
    },
    "approvals_stats_retrieve": {
        "summary": "Approval statistics",
        "description": "Counts by status and risk, and decision times, over the last `window_hours` (default 24).",
    },
    # Audit
    "audit_list": {
        "summary": "List audit entries",
        "description": "Who did what, newest first, with cursor pagination. Filter by action, resource, actor and "
        "time.",
    },
    "audit_retrieve": {"summary": "Read an audit entry", "description": "One entry with its chain hash."},
    "audit_approvals_retrieve": {
        "summary": "Audit trail of an approval request",
        "description": "Every entry about one request, oldest first. 404 when you see no entry about it.",
    },
    "audit_export_retrieve": {
        "summary": "Export audit entries",
        "description": "Every matching entry in chain order as CSV or JSON lines. CSV cells starting with = + - @ "
        "tab CR or ' get a leading ' (drop one leading ' to read them back).",
    },
    "audit_stats_retrieve": {
        "summary": "Audit statistics",
        "description": "Counts by action, resource type and UTC day, over the same filters as the list.",
    },
    "audit_verify_retrieve": {
        "summary": "Verify the audit chain",
        "description": "Checks each of your tenants' hash chains against their signed anchors and reports the first "
        "bad entry and why. Answers 200 either way: look at `ok`.",
    },
    # Identity, keys, policy
    "me_retrieve": {"summary": "Who am I", "description": "Your identity, tenants, roles and scopes."},
    "api_keys_list": {
        "summary": "List API keys",
        "description": "Keys of the tenants where you are an operator, and your own personal keys. Secrets are "
        "never shown again.",
    },
    "api_keys_create": {
        "summary": "Create an API key",
        "description": "A personal key (it acts as you, within your role's scopes) or a service account's key "
        "(operators). The secret is in this answer only.",
        "request_example": {"name": "invoice-agent", "scopes": ["workflows", "approvals:request"]},
    },
    "api_keys_retrieve": {"summary": "Read an API key", "description": "The key's owner, scopes and last use."},
    "api_keys_revoke_create": {
        "summary": "Revoke an API key",
        "description": "The key stops working within seconds; revoking twice is harmless.",
    },
    "tenants_risk_policy_retrieve": {
        "summary": "Read a tenant's risk policy",
        "description": "Operators: the tenant's override of the default risk policy (which actions need approval, "
        "by how many people).",
    },
    "tenants_risk_policy_update": {
        "summary": "Replace a tenant's risk policy",
        "description": "Operators: validated against the policy's JSON Schema; every wrong field is listed in one "
        "400 and nothing is saved then. `{}` goes back to the default.",
        "request_example": {"risk_policy": {"tools": {"email.send": {"level": "CRITICAL"}}}},
    },
    "internal_node_runs_result_create": {
        "summary": "Report a step attempt's result (task controller)",
        "description": "For the task controller only, authenticated by the `X-Internal-Token` header.",
    },
    # Webhooks
    "webhooks_list": {"summary": "List webhook endpoints", "description": "Endpoints of your tenants."},
    "webhooks_create": {
        "summary": "Add a webhook endpoint",
        "description": "Events you subscribe to (`*` for all) are POSTed to the URL, signed with the secret that "
        "is in this answer only.",
        "request_example": {"url": "https://hooks.example.com/orchestrator", "events": ["approval.requested"]},
    },
    "webhooks_retrieve": {"summary": "Read a webhook endpoint", "description": "The endpoint, without its secret."},
    "webhooks_update": {"summary": "Replace a webhook endpoint", "description": "URL, events and enabled flag."},
    "webhooks_partial_update": {"summary": "Change a webhook endpoint", "description": "Only the fields you send."},
    "webhooks_destroy": {
        "summary": "Remove a webhook endpoint",
        "description": "No further deliveries; past deliveries stay readable in the audit trail.",
    },
    "webhooks_deliveries_list": {
        "summary": "List deliveries to an endpoint",
        "description": "Newest first, each with its attempts (status code, latency, error).",
    },
    "webhooks_rotate_secret_create": {
        "summary": "Rotate a webhook secret",
        "description": "A new secret (shown once); the old one keeps signing for a grace period so receivers can "
        "switch.",
    },
    "webhooks_test_create": {
        "summary": "Send a test event",
        "description": "Sends a `webhook.test` event now and returns the attempt.",
    },
    "webhooks_deliveries_retrieve": {"summary": "Read a delivery", "description": "One delivery with its attempts."},
    "webhooks_deliveries_redeliver_create": {
        "summary": "Redeliver an event",
        "description": "Sends again with a fresh retry schedule and the same webhook-id; 409 while in flight or when "
        "the endpoint is disabled.",
    },
    "webhooks_event_types_retrieve": {
        "summary": "List event types",
        "description": "Every event type an endpoint can subscribe to (`*` subscribes to all).",
    },
    # Workspaces
    "workspaces_list": {"summary": "List workspaces", "description": "Persistent workspaces of your tenants."},
    "workspaces_create": {
        "summary": "Create a workspace",
        "description": "Provisioned in the background; runs that use it wait until it is ready.",
    },
    "workspaces_retrieve": {"summary": "Read a workspace", "description": "Its lifecycle state and lease lock."},
    "workspaces_status_retrieve": {
        "summary": "Workspace status",
        "description": "A short answer to poll: state and whether it is locked.",
    },
    "workspaces_hibernate_create": {
        "summary": "Hibernate a workspace",
        "description": "Stops it, keeping its files; it wakes when a run needs it. 409 while a step holds it.",
    },
    "workspaces_wake_create": {"summary": "Wake a workspace", "description": "Starts a hibernated workspace."},
    "workspaces_terminate_create": {
        "summary": "Terminate a workspace",
        "description": "Deletes it and its files for good. Runs that need it fail.",
    },
    "workspaces_lock_retrieve": {"summary": "Read a workspace's lock", "description": "Who holds it, until when."},
    "workspaces_lock_create": {
        "summary": "Lock a workspace",
        "description": "Take the lease lock for exclusive use; the answer's fencing token must accompany writes. "
        "409 while someone else holds it.",
    },
    "workspaces_lock_renew_create": {
        "summary": "Renew a workspace lock",
        "description": "Extend your lease before it expires.",
    },
    "workspaces_lock_destroy": {"summary": "Release a workspace lock", "description": "Give the lock back early."},
}

_CODE_MARKUP = re.compile(r"``([^`]+)``")


def _derived_summary(method: str, path: str) -> str:
    """``POST /api/v1/things/{id}/do-it`` → ``Do it (things)``: a fallback for an operation not in the table."""
    parts = [p for p in path.split("/") if p and not p.startswith("{") and p not in ("api", "v1")]
    verb = {"get": "Read", "post": "Create", "put": "Replace", "patch": "Change", "delete": "Delete"}[method]
    if len(parts) > 1:
        return f"{parts[-1].replace('-', ' ').replace('_', ' ').capitalize()} ({parts[0].replace('-', ' ')})"
    return f"{verb} {parts[0].replace('-', ' ') if parts else 'resource'}"


def _example(value: Any) -> dict[str, Any]:
    return {"example": {"value": value}}


def describe_operations(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: set each operation's summary, description and examples from
    ``OPERATIONS``; an operation not in the table keeps its declared summary (or gets one from its path) and
    no docstring-derived description. Also renders ``double-backtick`` markup of component descriptions as
    Markdown code."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            doc = OPERATIONS.get(operation.get("operationId", ""))
            if doc is None:
                operation.pop("description", None)
                operation.setdefault("summary", _derived_summary(method, path))
                continue
            operation["summary"] = doc["summary"]
            operation["description"] = doc["description"]
            if "request_example" in doc:
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    media["examples"] = _example(doc["request_example"])
            if "response_example" in doc:
                for code, response in operation.get("responses", {}).items():
                    if str(code).startswith("2"):
                        for media in response.get("content", {}).values():
                            media["examples"] = _example(doc["response_example"])
    for component in result.get("components", {}).get("schemas", {}).values():
        if isinstance(component, dict) and isinstance(component.get("description"), str):
            component["description"] = _CODE_MARKUP.sub(r"`\1`", component["description"])
    return result
