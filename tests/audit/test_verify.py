"""The verifier recomputes the chain and names the first broken sequence (SPEC §7.2, §7.3).

The tests play attacker with the append-only triggers bypassed (``triggers_off``: PostgreSQL's
``session_replication_role = replica``, which needs a superuser), then run the verifier three ways.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit import integrity, services, verification
from audit.keys import LEGACY_KEY_ID
from audit.models import AuditLog
from tests.audit.conftest import emit, triggers_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(tenant) -> list[AuditLog]:
    return [emit(tenant, reason=f"step {i}") for i in range(1, 7)]


def _first_bad(tenant) -> int | None:
    report = verification.verify_chains([tenant.pk])
    return report.chains[0].first_bad_sequence


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_intact_chain_verifies(tenant, chain) -> None:
    report = verification.verify_chains([tenant.pk])
    assert report.ok
    assert report.chains[0].verified == 6


def test_edited_entry_is_caught(tenant, chain) -> None:
    with triggers_off():
        AuditLog.objects.filter(pk=chain[2].pk).update(reason="nothing to see here")
    assert _first_bad(tenant) == 3


def test_edited_json_field_is_caught(tenant, chain) -> None:
    with triggers_off():
        AuditLog.objects.filter(pk=chain[3].pk).update(metadata={"data": {"n": 2}})
    assert _first_bad(tenant) == 4


def test_edited_actor_is_caught(tenant, chain) -> None:
    with triggers_off():
        AuditLog.objects.filter(pk=chain[1].pk).update(actor_display="someone else")
    assert _first_bad(tenant) == 2


def test_deleted_entry_is_caught(tenant, chain) -> None:
    with triggers_off():
        AuditLog.objects.filter(pk=chain[3].pk).delete()
    assert _first_bad(tenant) == 4


def test_deleted_first_entry_is_caught(tenant, chain) -> None:
    with triggers_off():
        AuditLog.objects.filter(pk=chain[0].pk).delete()
    assert _first_bad(tenant) == 1


def test_entries_cut_off_the_end_are_caught(tenant, chain) -> None:
    with triggers_off():
        AuditLog.objects.filter(pk__in=[chain[4].pk, chain[5].pk]).delete()
    report = verification.verify_chains([tenant.pk]).chains[0]
    assert report.first_bad_sequence == 5
    assert "missing from the end" in report.error


def test_swapped_pair_is_caught(tenant, chain) -> None:
    a, b = chain[2], chain[3]
    with triggers_off():
        AuditLog.objects.filter(pk=a.pk).update(sequence=1_000_000)
        AuditLog.objects.filter(pk=b.pk).update(sequence=a.sequence)
        AuditLog.objects.filter(pk=a.pk).update(sequence=b.sequence)
    assert _first_bad(tenant) == 3


def test_swapped_contents_are_caught(tenant, chain) -> None:
    a, b = chain[1], chain[2]
    with triggers_off():
        AuditLog.objects.filter(pk=a.pk).update(reason=b.reason)
        AuditLog.objects.filter(pk=b.pk).update(reason=a.reason)
    assert _first_bad(tenant) == 2


def test_inserted_entry_is_caught(tenant, chain) -> None:
    # The attacker renumbers the tail and inserts a well-formed entry, hashed correctly onto entry 3.
    with triggers_off():
        for entry in reversed(chain[3:]):
            AuditLog.objects.filter(pk=entry.pk).update(sequence=entry.sequence + 1)
        forged = AuditLog(
            chain=chain[0].chain,
            key_id=LEGACY_KEY_ID,
            sequence=4,
            created_at=chain[2].created_at + timedelta(microseconds=1),
            tenant=tenant,
            event_id=uuid.uuid4(),
            action="approval.approved",
            actor_type="user",
            actor_id="7",
            actor_display="mallory",
            resource_type="approval",
            resource_id="a1",
            prev_hash=chain[2].hash,
        )
        fields = {f: getattr(forged, f) for f in integrity.ENTRY_FIELDS if f not in ("prev_hash", "hash")}
        forged.hash = integrity.compute_hash(forged.prev_hash, fields)
        forged.save(force_insert=True)
    report = verification.verify_chains([tenant.pk]).chains[0]
    # Without the chain key the forgery can only be hashed the unkeyed way, which a keyed chain refuses.
    assert report.first_bad_sequence == 4
    assert "legacy-sha256" in report.error


def test_appended_entry_outside_the_log_is_caught(tenant, chain) -> None:
    last = chain[-1]
    forged = AuditLog(
        chain=last.chain,
        sequence=7,
        created_at=last.created_at,
        tenant=tenant,
        event_id=uuid.uuid4(),
        action="workflow.cancelled",
        actor_type="system",
        resource_type="workflow",
        resource_id="w",
        prev_hash=last.hash,
    )
    fields = {f: getattr(forged, f) for f in integrity.ENTRY_FIELDS if f not in ("prev_hash", "hash")}
    forged.hash = integrity.compute_hash(forged.prev_hash, fields)
    forged.save(force_insert=True)  # an INSERT is allowed; the chain head was not advanced
    assert _first_bad(tenant) == 7


def test_verification_passes_after_a_legitimate_retention_purge(tenant, chain, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 10
    newer = [emit(tenant) for _ in range(2)]
    with triggers_off():  # age the first six entries
        AuditLog.objects.filter(pk__in=[e.pk for e in chain]).update(created_at=timezone.now() - timedelta(days=11))
        # re-hashing is what an honest history would look like had they been written 11 days ago
        prev = integrity.GENESIS_HASH
        for entry in AuditLog.objects.filter(tenant=tenant).order_by("sequence"):
            fields = {f: getattr(entry, f) for f in integrity.ENTRY_FIELDS}
            entry_hash = integrity.compute_hash(prev, fields)
            AuditLog.objects.filter(pk=entry.pk).update(prev_hash=prev, hash=entry_hash)
            prev = entry_hash
        _sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = %s", [prev, str(tenant.pk)])
    assert verification.verify_chains([tenant.pk]).ok

    assert services.purge_expired_entries(batch_size=4) == 6
    remaining = AuditLog.objects.filter(tenant=tenant).exclude(action="audit.checkpoint").order_by("sequence")
    assert list(remaining.values_list("sequence", flat=True)) == [e.sequence for e in newer]
    report = verification.verify_chains([tenant.pk]).chains[0]
    assert report.ok, report
    # the second batch anchored head #9 (the first batch's checkpoint event): verified from there, #9 and #10
    assert (report.checkpoint_sequence, report.anchor_sequence, report.verified) == (6, 9, 2)
    assert verification.verify_chains([tenant.pk], full=True).chains[0].verified == 4

    # Tampering with what remains is still caught, right after the checkpoint too: by the full check, since the
    # default one starts at the newest anchor (#9) and an edit that recomputes nothing leaves #9 intact.
    with triggers_off():
        AuditLog.objects.filter(sequence=7, tenant=tenant).update(reason="edited")
    assert verification.verify_chains([tenant.pk], full=True).chains[0].first_bad_sequence == 7


def test_purge_of_the_whole_chain_still_verifies_and_the_chain_continues(tenant, chain, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 1
    assert services.purge_expired_entries(now=timezone.now() + timedelta(days=2)) == 6
    assert verification.verify_chains([tenant.pk]).ok
    marker = AuditLog.objects.get(tenant=tenant, action="audit.checkpoint")
    assert marker.sequence == 7 and marker.prev_hash == chain[-1].hash
    entry = emit(tenant)
    assert entry.sequence == 8 and entry.prev_hash == marker.hash
    assert verification.verify_chains([tenant.pk]).ok


def test_audit_verify_command_reports_first_bad_sequence(tenant, chain, other_tenant) -> None:
    emit(other_tenant)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit log intact: 2 chain(s)" in out.getvalue()

    with triggers_off():
        AuditLog.objects.filter(pk=chain[4].pk).update(resource_id="x")
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("audit_verify", "--tenant", tenant.slug, stdout=out)
    assert excinfo.value.returncode == 1
    assert f"BROKEN chain {tenant.pk}: first bad sequence 5" in out.getvalue()
    out = StringIO()
    call_command("audit_verify", "--tenant", str(other_tenant.pk), stdout=out)
    with pytest.raises(CommandError):
        call_command("audit_verify", "--json", stdout=(out := StringIO()))
    assert json.loads(out.getvalue())["first_bad_sequence"] == 5


def test_audit_verify_command_rejects_unknown_tenant() -> None:
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("audit_verify", "--tenant", "nope")


def test_verify_endpoint_reports_the_callers_chains_only(tenant, other_tenant, chain, api, key_client) -> None:
    emit(other_tenant)
    body = api.get("/api/v1/audit/verify").json()
    assert body["ok"] is True
    assert [c["chain"] for c in body["chains"]] == [str(tenant.pk)]
    assert body["verified"] == 6

    with triggers_off():
        AuditLog.objects.filter(pk=chain[1].pk).update(after={"status": "forged"})
    body = api.get("/api/v1/audit/verify").json()
    assert body["ok"] is False
    assert body["first_bad_sequence"] == 2
    assert body["chains"][0]["error"]
    # the other tenant's chain is untouched and not reported to this caller
    assert key_client(other_tenant, ["audit"]).get("/api/v1/audit/verify").json()["ok"] is True
