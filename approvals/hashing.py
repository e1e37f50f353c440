"""The action hash (SPEC §6.1): SHA-256, 64 hex, of the canonical JSON of tenant, run, node, tool and all params."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept; non-JSON values (dates, UUIDs) become strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def action_hash(*, tenant_id: Any, run_id: Any, node_key: str, tool: Any, params: Any) -> str:
    """The hash a decision binds to; any change to any param gives another hash."""
    document = {
        "tenant": str(tenant_id),
        "run": str(run_id),
        "node": str(node_key),
        "tool": tool,
        "params": params,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
