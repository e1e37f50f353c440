"""Keyed chains (issue 17): entries record the id of the key that chained them; checkpoints keep their anchor.

Entries already in the table were chained with plain SHA-256, so they get the key id ``legacy-sha256``, which the
verifier recomputes exactly as before (docs/audit-keys.md, "Upgrading"). Checkpoints of earlier purges keep an
empty ``anchor``; the first anchor written after the upgrade covers them (its ``floor``).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="auditlog",
            name="key_id",
            field=models.CharField(default="legacy-sha256", editable=False, max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="anchor",
            field=models.TextField(blank=True, editable=False),
        ),
    ]
