"""Append-only audit tables on PostgreSQL (SPEC §7.2–7.3).

Triggers reject every UPDATE, DELETE and TRUNCATE of ``audit_auditlog`` and ``audit_auditcheckpoint``, with two
deliberate exceptions (see docs/decisions.md, "Audit log"):

* The retention purge may DELETE audit entries: its transaction runs ``SET LOCAL audit.allow_purge = 'on'`` and
  may only remove entries at or below a checkpoint already recorded for their chain.
* ``TRUNCATE`` is allowed when ``audit.allow_truncate = 'on'``. Only test databases set it (Django's test
  teardown flushes every table with one TRUNCATE); the test suite's ``django_db_setup`` fixture sets it on the
  test database (tests/conftest.py), never the application.

SQLite gets no triggers: it has a single writer anyway, and the application never issues UPDATE or DELETE.
"""

from django.db import migrations

INSTALL = r"""
CREATE OR REPLACE FUNCTION audit_reject_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_auditlog'
       AND coalesce(current_setting('audit.allow_purge', true), '') = 'on' THEN
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
    IF coalesce(current_setting('audit.allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE on % is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_auditlog_append_only BEFORE UPDATE OR DELETE ON audit_auditlog
    FOR EACH ROW EXECUTE FUNCTION audit_reject_row_change();
CREATE TRIGGER audit_auditlog_no_truncate BEFORE TRUNCATE ON audit_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();
CREATE TRIGGER audit_auditcheckpoint_append_only BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_reject_row_change();
CREATE TRIGGER audit_auditcheckpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS audit_auditlog_append_only ON audit_auditlog;
DROP TRIGGER IF EXISTS audit_auditlog_no_truncate ON audit_auditlog;
DROP TRIGGER IF EXISTS audit_auditcheckpoint_append_only ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_truncate ON audit_auditcheckpoint;
DROP FUNCTION IF EXISTS audit_reject_row_change();
DROP FUNCTION IF EXISTS audit_reject_truncate();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_hash_chain")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
