"""SSRF guard and pinned HTTP transport for webhook deliveries (SPEC §7.1).

There is one implementation, shared with the engine's ``http.request`` tool: ``orchestrator.lib.netguard``. This
module re-exports the names webhooks use.
"""

from __future__ import annotations

from orchestrator.lib.netguard import (
    CGNAT,
    EXCERPT_BYTES,
    METADATA_ADDRESSES,
    NAT64,
    BlockedDestination,
    HttpResult,
    IPAddress,
    Resolver,
    Target,
    address_problem,
    check_literal_host,
    default_resolver,
    post_pinned,
    resolve_target,
    split_url,
)

__all__ = [
    "CGNAT",
    "EXCERPT_BYTES",
    "METADATA_ADDRESSES",
    "NAT64",
    "BlockedDestination",
    "HttpResult",
    "IPAddress",
    "Resolver",
    "Target",
    "address_problem",
    "check_literal_host",
    "default_resolver",
    "post_pinned",
    "resolve_target",
    "split_url",
]
