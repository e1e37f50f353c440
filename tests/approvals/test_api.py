"""The approvals HTTP API (SPEC §6.1): status codes, scoping, route order, stats, schema, metrics, admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.models import ApprovalRequest
from orchestrator.models import NodeStatus, Role, Scope
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

EMAIL = {"tool": "email.send", "params": {"to": "ceo@example.com", "subject": "Q3 numbers"}}


@pytest.fixture
def service(tenant, key_client) -> APIClient:
    return key_client(tenant, [Scope.APPROVALS_REQUEST])


@pytest.fixture
def decider(tenant, key_client) -> APIClient:
    return key_client(tenant, [Scope.APPROVALS_DECIDE])


def ask(client: APIClient, run: Any, node_key: str = "send", action: dict[str, Any] | None = None) -> Any:
    body = {"workflow_id": str(run.pk), "node_key": node_key, **(action or EMAIL), "reasoning": "asked by user"}
    return client.post("/api/v1/approvals/request", body, format="json")


def test_request_creates_then_returns_the_same_request(tenant, make_run, service) -> None:
    run, _, _ = make_run(tenant)
    first = ask(service, run)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["requires_approval"] is True and body["status"] == "PENDING" and body["risk_level"] == "HIGH"
    assert body["params"] == EMAIL["params"] and "Q3 numbers" in body["preview"]
    assert body["quorum"] == {"required": 1, "approvals": 0, "remaining": 1}
    again = ask(service, run)
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_request_for_low_risk_action_answers_no_approval_needed(tenant, make_run, service) -> None:
    run, _, _ = make_run(tenant)
    response = ask(service, run, action={"tool": "http.request", "params": {"method": "GET", "url": "https://x"}})
    assert response.status_code == 200
    assert response.json() == {"requires_approval": False, "risk_level": "LOW", "risk_reasons": []}


def test_request_errors(tenant, other_tenant, make_run, service, decider) -> None:
    run, _, _ = make_run(tenant)
    assert_problem(service.post("/api/v1/approvals/request", {"node_key": "x"}, format="json"), 400, "validation_error")
    assert_problem(ask(service, run, node_key="missing"), 400, "validation_error")
    foreign, _, _ = make_run(other_tenant)
    assert_problem(ask(service, foreign), 404, "not_found")
    done, _, _ = make_run(tenant, key="done", node_status=NodeStatus.COMPLETED)
    assert_problem(ask(service, done, node_key="done"), 409, "invalid_state")
    assert_problem(ask(decider, run), 403, "permission_denied")


def test_list_defaults_to_pending_newest_first_and_filters(tenant, other_tenant, make_run, service, decider) -> None:
    run, _, _ = make_run(tenant)
    older = ask(service, run).json()
    newer = ask(service, run, action={"tool": "http.request", "params": {"method": "POST", "url": "https://x"}}).json()
    rejected = ask(service, run, action={"tool": "sms.send", "params": {"to": "+1"}}).json()
    decider.post(f"/api/v1/approvals/{rejected['id']}/reject", {"reason": "no"}, format="json")
    foreign, _, _ = make_run(other_tenant)
    ask(APIClient(), foreign)  # unauthenticated: nothing created
    listed = decider.get("/api/v1/approvals").json()
    assert [a["id"] for a in listed["results"]] == [newer["id"], older["id"]]
    assert listed["next"] is None
    assert [a["id"] for a in decider.get("/api/v1/approvals?risk_level=MEDIUM").json()["results"]] == [newer["id"]]
    assert [a["id"] for a in decider.get("/api/v1/approvals?tool=email.send").json()["results"]] == [older["id"]]
    assert len(decider.get("/api/v1/approvals?status=ALL").json()["results"]) == 3
    assert [a["id"] for a in decider.get("/api/v1/approvals?status=REJECTED").json()["results"]] == [rejected["id"]]
    assert len(decider.get(f"/api/v1/approvals?workflow_id={run.pk}&status=ALL").json()["results"]) == 3
    future = (timezone.now() + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert decider.get("/api/v1/approvals", {"requested_after": future}).json()["results"] == []
    assert len(decider.get("/api/v1/approvals", {"requested_before": future}).json()["results"]) == 2
    assert_problem(decider.get("/api/v1/approvals?status=NOPE"), 400, "validation_error")


def test_other_tenants_requests_are_invisible(tenant, other_tenant, make_run, service, key_client) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    outsider = key_client(other_tenant, [Scope.APPROVALS_DECIDE, Scope.APPROVALS_REQUEST])
    assert outsider.get("/api/v1/approvals?status=ALL").json()["results"] == []
    assert_problem(outsider.get(f"/api/v1/approvals/{approval_id}"), 404, "not_found")
    assert_problem(outsider.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json"), 404, "not_found")
    assert_problem(outsider.post(f"/api/v1/approvals/{approval_id}/execute", {}, format="json"), 404, "not_found")


def test_reads_need_an_approvals_scope_for_keys_and_any_membership_for_people(
    tenant, make_run, service, key_client, member_client
) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    assert_problem(key_client(tenant, [Scope.WORKFLOWS]).get("/api/v1/approvals"), 403, "permission_denied")
    viewer = member_client(tenant, Role.VIEWER)
    assert viewer.get("/api/v1/approvals").status_code == 200
    assert viewer.get(f"/api/v1/approvals/{approval_id}").status_code == 200
    assert_problem(APIClient().get("/api/v1/approvals"), 401, "not_authenticated")


def test_detail_has_preview_decisions_quorum_and_audit_link(tenant, make_run, service, member_client) -> None:
    tenant.risk_policy = {"required_approvers": {"HIGH": 2}}
    tenant.save()
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    reviewer = member_client(tenant, Role.REVIEWER)
    response = reviewer.post(f"/api/v1/approvals/{approval_id}/approve", {"reason": "looks right"}, format="json")
    assert response.status_code == 200, response.content
    body = reviewer.get(f"/api/v1/approvals/{approval_id}").json()
    assert body["status"] == "PENDING"
    assert body["quorum"] == {"required": 2, "approvals": 1, "remaining": 1}
    assert body["decisions"][0]["by"]["display"] == reviewer.user.username
    assert body["decisions"][0]["reason"] == "looks right"
    assert body["audit_url"] == f"/api/v1/audit/approvals/{approval_id}"
    assert body["console_url"].endswith(f"/console/approvals/{approval_id}/")
    assert body["preview"] and body["execution"] is None and body["workflow_id"] == str(run.pk)


def test_decision_status_codes(tenant, make_run, service, decider, key_client, member_client) -> None:
    run, _, _ = make_run(tenant)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(decider.post(f"/api/v1/approvals/{unknown}/approve", {}, format="json"), 404, "not_found")
    approval_id = ask(service, run).json()["id"]
    url = f"/api/v1/approvals/{approval_id}"
    assert_problem(
        member_client(tenant, Role.VIEWER).post(f"{url}/approve", {}, format="json"), 403, "permission_denied"
    )
    assert_problem(service.post(f"{url}/approve", {}, format="json"), 403, "permission_denied")
    assert_problem(decider.post(f"{url}/reject", {}, format="json"), 400, "validation_error")
    both = key_client(tenant, [Scope.APPROVALS_REQUEST, Scope.APPROVALS_DECIDE])
    own = ask(both, run, action={"tool": "sms.send", "params": {"to": "+1"}}).json()["id"]
    assert_problem(both.post(f"/api/v1/approvals/{own}/approve", {}, format="json"), 403, "self_approval_forbidden")
    assert decider.post(f"{url}/approve", {}, format="json").json()["status"] == "APPROVED"
    assert_problem(decider.post(f"{url}/reject", {"reason": "late"}, format="json"), 409, "approval_not_pending")


def test_overdue_request_answers_410_on_decision_and_reads_expired(tenant, make_run, service, decider) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        problem = assert_problem(
            decider.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json"), 410, "approval_expired"
        )
        assert problem["detail"]
    assert decider.get(f"/api/v1/approvals/{approval_id}").json()["status"] == "EXPIRED"
    other = ask(service, run, action={"tool": "sms.send", "params": {"to": "+1"}}).json()["id"]
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert decider.get(f"/api/v1/approvals/{other}").json()["status"] == "EXPIRED"  # expired on read
        assert decider.get("/api/v1/approvals").json()["results"] == []


def test_execute_claims_once_then_409_with_the_recorded_outcome(tenant, make_run, service, decider) -> None:
    run, _, node_run = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    url = f"/api/v1/approvals/{approval_id}"
    assert_problem(service.post(f"{url}/execute", {}, format="json"), 409, "approval_not_approved")
    decider.post(f"{url}/approve", {}, format="json")
    changed = {"action": {"tool": "email.send", "params": {"to": "ceo@example.com", "subject": "changed"}}}
    assert_problem(service.post(f"{url}/execute", changed, format="json"), 409, "action_mismatch")
    first = service.post(f"{url}/execute", {"action": EMAIL}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["execution"]["status"] == "IN_PROGRESS"
    assert first.json()["execution"]["node_run_id"] == str(node_run.pk)
    result = service.post(f"{url}/result", {"status": "COMPLETED", "output": {"message_id": "m1"}}, format="json")
    assert result.status_code == 200 and result.json()["status"] == "COMPLETED"
    again = assert_problem(service.post(f"{url}/execute", {}, format="json"), 409, "already_executed")
    assert again["execution"]["status"] == "COMPLETED" and again["execution"]["output"] == {"message_id": "m1"}
    assert_problem(service.post(f"{url}/result", {"status": "FAILED"}, format="json"), 409, "result_already_recorded")
    body = service.get(url).json()
    assert body["status"] == "EXECUTED" and body["execution"]["status"] == "COMPLETED"
    assert_problem(decider.post(f"{url}/execute", {}, format="json"), 403, "permission_denied")


def test_execute_after_validity_is_410(tenant, make_run, service, decider) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    decider.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert_problem(
            service.post(f"/api/v1/approvals/{approval_id}/execute", {}, format="json"), 410, "approval_expired"
        )


def test_result_without_a_claim_is_409(tenant, make_run, service) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    response = service.post(f"/api/v1/approvals/{approval_id}/result", {"status": "COMPLETED"}, format="json")
    assert_problem(response, 409, "approval_not_approved")


def test_stats_route_is_not_shadowed_by_the_detail_route(tenant, make_run, service, decider) -> None:
    run, _, _ = make_run(tenant)
    ask(service, run)
    decided = ask(service, run, action={"tool": "sms.send", "params": {"to": "+1"}}).json()["id"]
    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        decider.post(f"/api/v1/approvals/{decided}/approve", {}, format="json")
    expiring = ask(service, run, action={"tool": "bank.transfer", "params": {"amount": 5}}).json()["id"]
    ApprovalRequest.objects.filter(pk=expiring).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = decider.get("/api/v1/approvals/stats")
    assert response.status_code == 200, response.content
    stats = response.json()
    assert stats["pending"] == 1
    assert stats["by_status"]["APPROVED"] == 1 and stats["by_status"]["EXPIRED"] == 1
    assert stats["by_risk_level"]["HIGH"] == 3
    assert stats["pending_by_risk_level"] == {"HIGH": 1}
    assert stats["oldest_pending_age_seconds"] >= 0
    assert stats["decisions_in_window"] == 1
    assert 89 <= stats["decision_latency_seconds"]["p50"] <= 95
    assert stats["expiry_rate"] == 0.5
    assert_problem(decider.get("/api/v1/approvals/stats?window_hours=0"), 400, "validation_error")
    assert_problem(decider.get("/api/v1/approvals/not-a-uuid"), 404)


def test_idempotency_key_replays_a_decision(tenant, make_run, service, decider) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    url = f"/api/v1/approvals/{approval_id}/approve"
    first = decider.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = decider.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotency-Replayed"] == "true"


def test_schema_documents_every_approvals_endpoint(api) -> None:
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"] if response["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(response.content)["paths"]
    for path in (
        "/api/v1/approvals",
        "/api/v1/approvals/stats",
        "/api/v1/approvals/request",
        "/api/v1/approvals/{id}",
        "/api/v1/approvals/{id}/approve",
        "/api/v1/approvals/{id}/reject",
        "/api/v1/approvals/{id}/execute",
        "/api/v1/approvals/{id}/result",
    ):
        assert path in paths, path


def test_metrics_export_pending_approvals_from_the_database(tenant, make_run, service, api) -> None:
    run, _, _ = make_run(tenant)
    ask(service, run)
    ask(service, run, action={"tool": "http.request", "params": {"method": "POST", "url": "https://x"}})
    text = api.get("/api/v1/metrics").content.decode()
    assert 'approvals_pending{risk_level="HIGH"} 1.0' in text
    assert 'approvals_pending{risk_level="MEDIUM"} 1.0' in text
    assert 'approvals_pending{risk_level="CRITICAL"} 0.0' in text


def test_admin_lists_and_expires_selected(tenant, make_run, service, admin_client) -> None:
    run, _, _ = make_run(tenant)
    approval_id = ask(service, run).json()["id"]
    assert admin_client.get("/admin/approvals/approvalrequest/").status_code == 200
    assert admin_client.get(f"/admin/approvals/approvalrequest/{approval_id}/change/").status_code == 200
    assert admin_client.get("/admin/approvals/idempotencyrecord/").status_code == 200
    response = admin_client.post(
        "/admin/approvals/approvalrequest/",
        {"action": "expire_selected", "_selected_action": [approval_id]},
    )
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=approval_id).status == "EXPIRED"
