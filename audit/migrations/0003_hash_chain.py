"""Harden the audit log (SPEC §7.2): per-tenant hash chains, chain heads, retention checkpoints.

The log was written by nothing but ``events.emit`` before this, and nothing emitted yet, so the table is expected
to be empty; the defaults below only exist to satisfy the schema change.
"""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_auditlog_tenant"),
        ("orchestrator", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(name="auditlog", options={}),
        migrations.AddField(
            model_name="auditlog",
            name="chain",
            field=models.CharField(default="global", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="sequence",
            field=models.BigIntegerField(default=1, editable=False),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="prev_hash",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.AddIndex(
            model_name="auditlog",
            index=models.Index(fields=["tenant", "created_at"], name="audit_tenant_created_idx"),
        ),
        migrations.AddConstraint(
            model_name="auditlog",
            constraint=models.UniqueConstraint(fields=("chain", "sequence"), name="audit_chain_sequence_unique"),
        ),
        migrations.AddConstraint(
            model_name="auditlog",
            constraint=models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_sequence_positive"),
        ),
        migrations.AddConstraint(
            model_name="auditlog",
            constraint=models.CheckConstraint(
                condition=models.Q(actor_type__in=["user", "api_key", "system"]), name="audit_actor_type_valid"
            ),
        ),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("chain", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("last_sequence", models.BigIntegerField(default=0)),
                ("last_hash", models.CharField(blank=True, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("chain", models.CharField(max_length=64)),
                ("sequence", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("removed", models.BigIntegerField(help_text="Entries removed by this purge batch.")),
                (
                    "cutoff",
                    models.DateTimeField(help_text="Entries created before this instant were due for removal."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("chain", "sequence"), name="audit_checkpoint_chain_sequence_unique"
                    )
                ],
            },
        ),
    ]
