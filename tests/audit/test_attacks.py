"""Someone holding the application's own database role attacks the audit log; the verifier names each attack.

The tests run on PostgreSQL as a plain (non-superuser) role that owns the audit tables, inside the test's
transaction (so everything is rolled back): the realistic insider or a leaked ``DATABASE_URL``. That role can
drop its own tables' triggers, so prevention is not the point: the keyed chain and the anchors kept outside the
database must make every attack show up in ``audit_verify``, naming the first bad sequence and why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import anchors, checkpoints, integrity, services, verification
from audit.keys import LEGACY_KEY_ID
from audit.models import AuditChainHead, AuditLog
from tests.audit.conftest import emit

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AUDIT_TABLES = ("audit_auditlog", "audit_auditcheckpoint", "audit_auditchainhead")


def _sql(statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def app_role(db: Any) -> str:
    """A login-less, non-superuser role that owns the audit tables for this test (rolled back afterwards)."""
    role = f"{connection.settings_dict['NAME']}_app"[:60]
    _sql(
        f"DO $$ BEGIN CREATE ROLE {role} NOSUPERUSER NOBYPASSRLS; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    for table in AUDIT_TABLES:
        _sql(f"ALTER TABLE {table} OWNER TO {role}")
    return role


@contextmanager
def as_role(role: str) -> Iterator[None]:
    """Run the block as ``role``: what a connection made with the application's credentials can do."""
    _sql(f"SET ROLE {role}")
    try:
        yield
    finally:
        _sql("RESET ROLE")


def _report(tenant: Any, *, full: bool = False) -> verification.ChainReport:
    return verification.verify_chains([tenant.pk], full=full).chains[0]


@pytest.fixture
def anchored(tenant: Any) -> list[AuditLog]:
    """Entries 1..6, a scheduled checkpoint anchoring #6 (its event is #7), then entries 8 and 9."""
    entries = [emit(tenant, reason=f"step {i}") for i in range(1, 7)]
    assert checkpoints.checkpoint_chains() == 1
    entries += list(AuditLog.objects.filter(tenant=tenant, sequence=7))
    entries += [emit(tenant, reason=f"step {i}") for i in (8, 9)]
    assert _report(tenant).ok and _report(tenant, full=True).ok
    _sql("SET CONSTRAINTS ALL IMMEDIATE")  # settle deferred FK checks, so TRUNCATE meets only the audit triggers
    return entries


def test_the_application_role_cannot_switch_the_triggers_off(app_role, tenant, anchored) -> None:
    with as_role(app_role):
        assert not _sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            _sql("SET session_replication_role = replica")
        for setting in ("audit.allow_truncate", "audit.allow_purge"):
            for table in AUDIT_TABLES:
                with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                    _sql(f"SET LOCAL {setting} = 'on'")
                    _sql(f"TRUNCATE {table} CASCADE")
            with pytest.raises(DatabaseError, match="covered by a checkpoint"), transaction.atomic():
                _sql(f"SET LOCAL {setting} = 'on'")
                _sql("DELETE FROM audit_auditlog")
    assert AuditLog.objects.filter(tenant=tenant).count() == 9


def test_truncation_by_the_table_owner_is_reported(app_role, tenant, anchored) -> None:
    with as_role(app_role):
        for table in AUDIT_TABLES:
            _sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        _sql("TRUNCATE audit_auditlog, audit_auditcheckpoint, audit_auditchainhead")
    # The database no longer knows the chain; its anchor file does, so it is still verified.
    report = verification.verify_chains()
    assert not report.ok
    broken = next(c for c in report.chains if c.chain == str(tenant.pk))
    assert broken.first_bad_sequence == 1
    assert "went backwards" in broken.error and "#6 was anchored" in broken.error
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=out)
    assert f"BROKEN chain {tenant.pk}: first bad sequence 1" in out.getvalue()


def _forged_checkpoint(tenant: Any, sequence: int, anchor: str) -> None:
    entry = AuditLog.objects.get(tenant=tenant, sequence=sequence)
    _sql(
        "INSERT INTO audit_auditcheckpoint (id, chain, sequence, hash, removed, cutoff, created_at, anchor) "
        "VALUES (%s, %s, %s, %s, %s, now(), now(), %s)",
        [uuid.uuid4(), entry.chain, sequence, entry.hash, sequence, anchor],
    )


@pytest.mark.parametrize("signature", ["none", "edited"])
def test_forged_checkpoint_then_purge_is_reported(app_role, tenant, anchored, signature) -> None:
    anchor = ""
    if signature == "edited":  # a genuine anchor line, moved to the sequence the attacker wants to purge to
        genuine = json.loads(anchors.path_for(str(tenant.pk)).read_text().splitlines()[-1])
        anchor = json.dumps({**genuine, "floor": 4, "floor_hash": anchored[3].hash, "reason": "purge"})
    with as_role(app_role):
        _forged_checkpoint(tenant, 4, anchor)
        _sql("DELETE FROM audit_auditlog WHERE chain = %s AND sequence <= 4", [str(tenant.pk)])  # triggers allow it
    assert AuditLog.objects.filter(tenant=tenant).count() == 5
    for full in (False, True):
        report = _report(tenant, full=full)
        assert report.first_bad_sequence == 1, report
        assert "checkpoint #4 is not signed" in report.error


@pytest.mark.parametrize("how", ["legacy-sha256", "attacker-key"])
def test_rewritten_entry_with_recomputed_chain_is_reported(app_role, tenant, anchored, how) -> None:
    """Entry 3 is rewritten and every hash after it recomputed, as far as one can without AUDIT_CHAIN_KEY."""
    rows = list(AuditLog.objects.filter(tenant=tenant).order_by("sequence"))
    prev = rows[1].hash
    with as_role(app_role):
        _sql("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        for row in rows[2:]:
            fields = {f: getattr(row, f) for f in integrity.ENTRY_FIELDS}
            if row.sequence == 3:
                fields["reason"] = "approved by the CFO"
            text = (prev + integrity.canonical_entry(fields)).encode()
            if how == "legacy-sha256":
                key_id, new_hash = LEGACY_KEY_ID, hashlib.sha256(text).hexdigest()
            else:  # keeps the key id, but the attacker can only use a key of their own
                key_id, new_hash = row.key_id, hmac.new(b"guessed-key", text, hashlib.sha256).hexdigest()
            _sql(
                "UPDATE audit_auditlog SET reason = %s, key_id = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [fields["reason"], key_id, prev, new_hash, row.id],
            )
            prev = new_hash
        _sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = %s", [prev, str(tenant.pk)])
    for full in (False, True):
        report = _report(tenant, full=full)
        assert report.first_bad_sequence == 3, report
        assert ("legacy-sha256" if how == "legacy-sha256" else "hash does not match") in report.error


def test_deleted_newest_entries_are_reported(app_role, tenant, anchored) -> None:
    with as_role(app_role):
        _sql("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        _sql("DELETE FROM audit_auditlog WHERE chain = %s AND sequence >= 8", [str(tenant.pk)])
    report = _report(tenant)
    assert (report.first_bad_sequence, "missing from the end") == (8, "missing from the end")
    assert "8..9 are missing from the end" in report.error


def test_deleted_newest_entries_with_the_head_moved_back_are_reported(app_role, tenant, anchored) -> None:
    with as_role(app_role):
        _sql("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        _sql("DELETE FROM audit_auditlog WHERE chain = %s AND sequence >= 5", [str(tenant.pk)])
        _sql(
            "UPDATE audit_auditchainhead SET last_sequence = 4, last_hash = %s WHERE chain = %s",
            [anchored[3].hash, str(tenant.pk)],
        )
    report = _report(tenant)
    assert report.first_bad_sequence == 5
    assert "head went backwards" in report.error and "#6 was anchored" in report.error


def test_replaced_last_anchor_line_is_reported(app_role, tenant, anchored) -> None:
    """The attacker also reaches the anchor store, but not the key: the line they write cannot be signed."""
    with as_role(app_role):
        _sql("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        _sql("DELETE FROM audit_auditlog WHERE chain = %s AND sequence >= 5", [str(tenant.pk)])
        _sql(
            "UPDATE audit_auditchainhead SET last_sequence = 4, last_hash = %s WHERE chain = %s",
            [anchored[3].hash, str(tenant.pk)],
        )
    path = anchors.path_for(str(tenant.pk))
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    for forged in (
        {**last, "sequence": 4, "hash": anchored[3].hash, "sig": ""},  # unsigned
        {**last, "sequence": 4, "hash": anchored[3].hash},  # the old signature on new content
        {**last, "sequence": 4, "hash": anchored[3].hash, "key_id": "hmac-0000000000000000"},  # an unknown key
    ):
        path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
        report = _report(tenant)
        assert report.first_bad_sequence == 4, report
        assert f"anchor line {len(lines)}" in report.error


def test_a_legitimate_purge_still_verifies_and_its_anchor_is_signed(tenant, anchored, settings) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 1
    removed = services.purge_expired_entries(now=timezone.now() + timedelta(days=2), batch_size=4)
    # batches 1..4, 5..8, then 9..11 (#10 and #11 are the checkpoint events of the first two batches)
    assert removed == 11
    assert list(AuditLog.objects.filter(tenant=tenant).values_list("sequence", "action")) == [(12, "audit.checkpoint")]
    for full in (False, True):
        assert _report(tenant, full=full).ok
    trusted = [a for a in anchors.read(str(tenant.pk)) if a.trusted]
    assert [(a.reason, a.sequence, a.floor) for a in trusted] == [
        ("schedule", 6, 0),
        ("purge", 9, 4),  # an anchor signs the head at the time, and the floor the purge is about to reach
        ("purge", 10, 8),
        ("purge", 11, 11),
    ]


def test_entries_after_the_anchor_stay_protected_by_the_key(tenant, anchored) -> None:
    head = AuditChainHead.objects.get(chain=str(tenant.pk))
    assert head.last_sequence == 9
    assert AuditLog.objects.filter(tenant=tenant, sequence=9).values_list("key_id", flat=True)[0].startswith("hmac-")
