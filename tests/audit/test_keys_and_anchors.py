"""Keyed chains, key rotation, the upgrade path from unkeyed chains, scheduled checkpoints, and the key setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit import anchors, checkpoints, integrity, services, tasks, verification
from audit.keys import LEGACY_KEY_ID, key_id_for, keyring
from audit.models import AuditChainHead, AuditLog
from tests.audit.conftest import emit, triggers_off
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

KEY_A = "a" * 40
KEY_B = "b" * 40


def _report(tenant, *, full: bool = False) -> verification.ChainReport:
    return verification.verify_chains([tenant.pk], full=full).chains[0]


def test_entries_are_keyed_with_the_current_key(tenant, settings) -> None:
    settings.AUDIT_CHAIN_KEY = KEY_A
    entry = emit(tenant)
    assert entry.key_id == key_id_for(KEY_A)
    fields = {f: getattr(entry, f) for f in integrity.ENTRY_FIELDS}
    assert integrity.compute_hash(entry.prev_hash, fields) == entry.hash
    settings.AUDIT_CHAIN_KEY = KEY_B  # another key cannot reproduce the hash: the key id names the one needed
    with pytest.raises(LookupError):
        integrity.compute_hash(entry.prev_hash, fields)


def test_key_rotation_keeps_verifying_and_retiring_the_old_key_only_affects_full_checks(tenant, settings) -> None:
    settings.AUDIT_CHAIN_KEY = KEY_A
    for _ in range(3):
        emit(tenant)
    assert checkpoints.checkpoint_chains() == 1  # anchors #3 with key A; its event is #4
    settings.AUDIT_CHAIN_KEY, settings.AUDIT_CHAIN_PREVIOUS_KEYS = KEY_B, [KEY_A]
    for _ in range(3):
        emit(tenant)
    assert checkpoints.checkpoint_chains() == 1  # anchors #7 with key B
    key_ids = set(AuditLog.objects.filter(tenant=tenant).values_list("key_id", flat=True))
    assert key_ids == {key_id_for(KEY_A), key_id_for(KEY_B)}
    assert _report(tenant).ok and _report(tenant, full=True).ok

    settings.AUDIT_CHAIN_PREVIOUS_KEYS = []  # the old key retired
    assert _report(tenant).ok  # from the newest anchor, signed with key B
    report = _report(tenant, full=True)
    assert report.first_bad_sequence == 1 and "not configured" in report.error


def _rewrite_as_legacy(tenant) -> str:
    """Turn the tenant's chain into what a database from before keyed chains holds; returns the last hash."""
    prev = integrity.GENESIS_HASH
    with triggers_off():
        for entry in AuditLog.objects.filter(tenant=tenant).order_by("sequence"):
            fields = {**{f: getattr(entry, f) for f in integrity.ENTRY_FIELDS}, "key_id": LEGACY_KEY_ID}
            entry_hash = integrity.compute_hash(prev, fields)
            AuditLog.objects.filter(pk=entry.pk).update(key_id=LEGACY_KEY_ID, prev_hash=prev, hash=entry_hash)
            prev = entry_hash
        AuditChainHead.objects.filter(chain=str(tenant.pk)).update(last_hash=prev)
    return prev


def test_an_upgraded_database_keeps_verifying(tenant, settings) -> None:
    for _ in range(3):
        emit(tenant)
    _rewrite_as_legacy(tenant)
    assert _report(tenant).ok and _report(tenant, full=True).ok  # before any anchor: as before the upgrade

    assert checkpoints.checkpoint_chains() == 1
    (anchor,) = anchors.read(str(tenant.pk))
    assert (anchor.trusted, anchor.sequence, anchor.legacy_through, anchor.floor) == (True, 3, 3, 0)
    emit(tenant)
    assert _report(tenant).ok and _report(tenant, full=True).ok

    settings.AUDIT_LOG_RETENTION_DAYS = 1  # a purge through the legacy part works too
    assert services.purge_expired_entries(now=timezone.now() + timedelta(days=2), batch_size=2) > 0
    assert _report(tenant).ok and _report(tenant, full=True).ok


def test_scheduled_checkpoint_anchors_emits_and_skips_idle_chains(tenant, other_tenant) -> None:
    emit(tenant)
    emit(tenant)
    emit(other_tenant)
    assert tasks.checkpoint_audit_chains.run() == 2
    event = AuditLog.objects.get(tenant=tenant, action="audit.checkpoint")
    (line,) = anchors.path_for(str(tenant.pk)).read_text().splitlines()
    assert event.metadata["data"] == json.loads(line)
    assert event.metadata["data"]["sequence"] == 2 and event.metadata["data"]["sig"]
    assert tasks.checkpoint_audit_chains.run() == 0  # only the checkpoint events were written since
    emit(tenant)
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert "anchored 1 chain(s)" in out.getvalue()
    assert verification.verify_chains().ok


def test_checkpoints_and_purges_run_from_celery_beat() -> None:
    tasks_scheduled = {e["task"]: e for e in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks_scheduled[tasks.checkpoint_audit_chains.name]["options"]["queue"] == "maintenance"


def test_purge_deletes_nothing_when_it_cannot_anchor(tenant, settings, tmp_path) -> None:
    settings.AUDIT_LOG_RETENTION_DAYS = 1
    emit(tenant)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.AUDIT_ANCHOR_DIR = blocker / "anchors"
    # The chain whose anchor cannot be written is a failed unit (logged, retried next run), not an error that stops
    # the other chains' retention (issue 16): nothing of it is deleted.
    assert services.purge_expired_entries(now=timezone.now() + timedelta(days=2)) == 0
    assert AuditLog.objects.filter(tenant=tenant).count() == 1
    report = _report(tenant)
    assert report.first_bad_sequence == 0 and "cannot be read" in report.error
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    assert _report(tenant).ok


def test_verify_command_and_endpoint_take_full(tenant, api) -> None:
    for _ in range(4):
        emit(tenant)
    checkpoints.checkpoint_chains()
    emit(tenant)
    out = StringIO()
    call_command("audit_verify", "--tenant", tenant.slug, stdout=out)
    assert f"OK    chain {tenant.pk}: 3 entries from #4, anchored at #4" in out.getvalue()
    out = StringIO()
    call_command("audit_verify", "--tenant", tenant.slug, "--full", stdout=out)
    assert f"OK    chain {tenant.pk}: 6 entries from #1" in out.getvalue()
    body = api.get("/api/v1/audit/verify").json()
    assert (body["ok"], body["chains"][0]["full"], body["chains"][0]["anchor_sequence"]) == (True, False, 4)
    assert api.get("/api/v1/audit/verify?full=true").json()["verified"] == 6
    assert_problem(api.get("/api/v1/audit/verify?full=maybe"), 400)


@pytest.mark.postgres
def test_production_trigger_functions_have_no_bypass() -> None:
    """Every trigger on an audit table runs a function that reads nothing a session could switch."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgname, t.tgenabled, p.proname, p.prosrc, p.prosecdef
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE c.relname LIKE 'audit\\_%%' AND NOT t.tgisinternal
            """
        )
        rows = cursor.fetchall()
    triggers = {(table, name) for table, name, *_ in rows}
    assert triggers == {
        ("audit_auditlog", "audit_auditlog_append_only"),
        ("audit_auditlog", "audit_auditlog_no_truncate"),
        ("audit_auditcheckpoint", "audit_auditcheckpoint_append_only"),
        ("audit_auditcheckpoint", "audit_auditcheckpoint_no_truncate"),
        ("audit_auditchainhead", "audit_auditchainhead_no_truncate"),
    }
    forbidden = ("current_setting", "session_replication_role", "current_user", "session_user", "current_role")
    for table, name, enabled, function, source, security_definer in rows:
        assert enabled == "O", f"{name} on {table} is not enabled as shipped"
        assert not security_definer
        lowered = source.lower()
        assert not [word for word in (*forbidden, "pg_has_role", "audit.allow") if word in lowered], function


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUDIT_", "PYTEST_", "DEBUG", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", "import orchestrator.settings as s; print(s.AUDIT_CHAIN_KEY == s._DEV_AUDIT_CHAIN_KEY)"],
        env={**base, **env},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    )


def test_the_chain_key_is_required_outside_debug_and_the_embedded_default(tmp_path) -> None:
    server = {"DATABASE_URL": "postgres://app@db.invalid:5432/app", "DATA_DIR": str(tmp_path)}
    refused = _settings_in_subprocess(server)
    assert refused.returncode != 0 and "AUDIT_CHAIN_KEY: required" in refused.stderr
    key_file = tmp_path / "audit-key"
    key_file.write_text(KEY_A + "\n")
    from_file = _settings_in_subprocess({**server, "AUDIT_CHAIN_KEY_FILE": str(key_file)})
    assert (from_file.returncode, from_file.stdout.strip()) == (0, "False"), from_file.stderr
    embedded = _settings_in_subprocess({"DATA_DIR": str(tmp_path)})
    assert (embedded.returncode, embedded.stdout.strip()) == (0, "True"), embedded.stderr
    production = _settings_in_subprocess({"DATA_DIR": str(tmp_path), "PRODUCTION": "true", "SECRET_KEY": "s" * 60})
    assert production.returncode != 0 and "AUDIT_CHAIN_KEY" in production.stderr


def test_keyring_accepts_current_and_previous_keys(settings) -> None:
    settings.AUDIT_CHAIN_KEY, settings.AUDIT_CHAIN_PREVIOUS_KEYS = KEY_B, [KEY_A]
    ring = keyring()
    assert ring.current_id == key_id_for(KEY_B)
    assert set(ring.keys) == {key_id_for(KEY_A), key_id_for(KEY_B)}
    assert not ring.check(LEGACY_KEY_ID, "x", ring.mac(LEGACY_KEY_ID, "x"))  # unkeyed never counts as signed
