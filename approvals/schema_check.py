"""Field-level validation of a configuration document against one of ``approvals/schemas/*.schema.json``.

Shared by the risk policy (``approvals.policy_schema``) and the approval routing (``approvals.routing_config``):
both are a settings default checked at start-up plus a tenant override checked, merged over it, before it is saved.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from jsonschema import Draft202012Validator

from orchestrator.lib.errors import InvalidInput

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"


class InvalidDocument(InvalidInput):
    """400 ``validation_error`` with one entry per wrong field (``errors[].field`` is a dotted path); subclasses
    name the document in ``what``."""

    what: ClassVar[str] = "The document"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        super().__init__(f"{self.what} is invalid: {summary}")
        self.errors = errors


@lru_cache(maxsize=8)
def validator(schema_file: str) -> Draft202012Validator:
    """The checked validator of ``approvals/schemas/<schema_file>`` (loaded once per process)."""
    schema = json.loads((SCHEMAS_DIR / schema_file).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def field_errors(schema_file: str, document: Any, *, prefix: str) -> list[dict[str, str]]:
    """Field-level errors of ``document`` (empty when valid), each field a dotted path under ``prefix``, sorted."""
    errors = []
    for error in validator(schema_file).iter_errors(document):
        path = ".".join(str(part) for part in error.absolute_path)
        errors.append({"field": f"{prefix}.{path}" if path else prefix, "message": error.message})
    return sorted(errors, key=lambda e: (e["field"], e["message"]))
