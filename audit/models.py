"""The audit log: one entry per event (SPEC §7.2), written in the transaction of the change it records.

Entries form hash chains, one per tenant (entries without a tenant go to the ``global`` chain): each entry carries
a gapless ``sequence`` within its chain, the previous entry's hash, the id of the key that chained it, and its own
``hash = HMAC-SHA256(key, prev_hash ‖ canonical JSON)`` (see ``audit.integrity`` and ``audit.keys``). On
PostgreSQL triggers (migration ``0006_triggers_without_bypass``) reject UPDATE and TRUNCATE, and DELETE of any
entry not covered by a recorded ``AuditCheckpoint``; signed checkpoints anchored outside the database
(``audit.anchors``) let the verifier catch what someone holding the database role does anyway.
"""

from __future__ import annotations

import uuid

from django.db import models

GLOBAL_CHAIN = "global"


def chain_for(tenant_id: object | None) -> str:
    """The chain an entry of ``tenant_id`` belongs to: the tenant's id, or ``global`` for tenant-less events."""
    return str(tenant_id) if tenant_id is not None else GLOBAL_CHAIN


class AuditLog(models.Model):
    """An append-only record of who did what, when, from where, to which resource."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chain = models.CharField(max_length=64, editable=False)
    sequence = models.BigIntegerField(editable=False)
    created_at = models.DateTimeField(db_index=True)
    tenant = models.ForeignKey("orchestrator.Tenant", null=True, blank=True, on_delete=models.PROTECT)
    event_id = models.UUIDField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_display = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    key_id = models.CharField(max_length=32, editable=False)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log entries"
        indexes = [
            models.Index(fields=["resource_type", "resource_id"], name="audit_resource_idx"),
            models.Index(fields=["tenant", "created_at"], name="audit_tenant_created_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="audit_chain_sequence_unique"),
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_sequence_positive"),
            models.CheckConstraint(
                condition=models.Q(actor_type__in=["user", "api_key", "system"]), name="audit_actor_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.resource_type}:{self.resource_id}"

    @property
    def actor(self) -> dict[str, str]:
        return {"type": self.actor_type, "id": self.actor_id, "display": self.actor_display}


class AuditChainHead(models.Model):
    """The tip of one chain: its last sequence and hash.

    Writers lock this row (``SELECT … FOR UPDATE``) to append, which keeps the chain linear; on PostgreSQL they do
    it in their transaction's pre-commit step (``audit.services.append_entries``, issue 22), so the lock is held
    for one INSERT+UPDATE statement and the commit, and a chain's order is its commit order. It also lets the verifier
    notice entries cut off the end of the chain.
    """

    chain = models.CharField(max_length=64, primary_key=True)
    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.chain} @ {self.last_sequence}"


class AuditCheckpoint(models.Model):
    """A retention purge removed every entry of ``chain`` up to ``sequence``; ``hash`` is that entry's hash.

    ``anchor`` is the signed anchor line (``audit.anchors``) written to the anchor store before the delete; rows
    from before keyed chains have none. The database trigger lets a DELETE through only for entries covered by a
    checkpoint row; the verifier rejects rows whose signature does not verify. Checkpoints are append-only too.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chain = models.CharField(max_length=64)
    sequence = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    removed = models.BigIntegerField(help_text="Entries removed by this purge batch.")
    cutoff = models.DateTimeField(help_text="Entries created before this instant were due for removal.")
    created_at = models.DateTimeField(auto_now_add=True)
    anchor = models.TextField(blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="audit_checkpoint_chain_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.chain} purged through #{self.sequence}"
