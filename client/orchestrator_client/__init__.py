"""A Python client for the workflow orchestrator: generated typed layer (``orchestrator_client.api``) plus
conveniences (``Orchestrator``: long-polling waits, ``request_approval``; ``Webhook`` verification; retries with
an Idempotency-Key on every write). Imports nothing from the server."""

from .client import ApprovalDecision, ApprovalTimeout, Orchestrator, ProblemError
from .transport import RetryTransport
from .webhook import Webhook, WebhookVerificationError

__all__ = [
    "ApprovalDecision",
    "ApprovalTimeout",
    "Orchestrator",
    "ProblemError",
    "RetryTransport",
    "Webhook",
    "WebhookVerificationError",
]
