"""Append-only audit tables on PostgreSQL, with no escape hatch (issue 17; replaces migration 0004's functions).

Migration 0004's functions let a connection switch the protection off with a custom setting
(``audit.allow_truncate``, ``audit.allow_purge``): anyone holding the application's credentials could. These
functions depend on nothing a session controls (no settings, no role names): UPDATE and TRUNCATE are always
refused, and DELETE only of an entry covered by a recorded checkpoint row. Whether that checkpoint is genuine
is the verifier's question (it must carry a signature made with ``AUDIT_CHAIN_KEY``, anchored outside the
database): a role that owns the tables can always drop a trigger, so the triggers stop accidents and casual
edits, and tamper *evidence* comes from the keyed chain and the anchors. ``tests/audit/test_no_bypass.py``
proves these functions read no setting. The test suite empties tables between tests as a superuser with
``session_replication_role = replica`` (tests/conftest.py), a power the application's role does not have.

SQLite gets no triggers: it has a single writer anyway, and the application never issues UPDATE or DELETE.
"""

from django.db import migrations

INSTALL = r"""
CREATE OR REPLACE FUNCTION audit_reject_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_auditlog' THEN
        IF EXISTS (
            SELECT 1 FROM audit_auditcheckpoint c WHERE c.chain = OLD.chain AND c.sequence >= OLD.sequence
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit purge may only remove entries covered by a checkpoint (chain %, sequence %)',
            OLD.chain, OLD.sequence USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE FUNCTION audit_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE on % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_auditchainhead_no_truncate ON audit_auditchainhead;
CREATE TRIGGER audit_auditchainhead_no_truncate BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();
"""

# Back to migration 0004's functions (bypass included), for a rollback to the code that expects them.
UNINSTALL = r"""
DROP TRIGGER IF EXISTS audit_auditchainhead_no_truncate ON audit_auditchainhead;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    import importlib

    previous = importlib.import_module("audit.migrations.0004_append_only_triggers")
    schema_editor.execute(UNINSTALL, params=None)
    schema_editor.execute(previous.INSTALL.split("CREATE TRIGGER")[0], params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_keyed_chain")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
