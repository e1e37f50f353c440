"""OpenAPI descriptions drf-spectacular cannot derive on its own."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from orchestrator.lib.bounds import MAX_QUERY_VALUE_LENGTH


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <api key>`` as the ``apiKey`` security scheme."""

    target_class = "orchestrator.lib.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of one tenant: `Authorization: Bearer wfo_…`. Shown once at creation.",
        }


PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document; `code` is stable and machine-readable.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "code", "errors"],
}
_ANY_OPERATION = {"400": "Invalid input", "401": "No or invalid credentials", "403": "Not allowed",
                  "406": "No acceptable representation for the Accept header",
                  "413": "Request body over API_MAX_BODY_BYTES (payload_too_large, with limit_bytes)",
                  "429": "Throttled", "503": "A dependency (database, broker) is unavailable"}  # fmt: skip
_WITH_PATH_ID = {"404": "Unknown, or another tenant's"}
_WRITES = {"409": "Wrong state, or the same Idempotency-Key is still in progress",
           "415": "Unsupported media type", "422": "Idempotency-Key reused with a different body"}  # fmt: skip


def _bound_query_parameter(parameter: dict[str, Any]) -> None:
    """State the boundary's length limit on a string query parameter that states none (the middleware refuses
    longer values with a 400)."""
    schema = parameter.get("schema", {})
    if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
        schema.setdefault("maxLength", MAX_QUERY_VALUE_LENGTH)


def add_problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: document the problem documents every operation can answer with.

    The API answers client mistakes, missing credentials, throttling and an unavailable database with problem
    documents on every endpoint (SPEC §2); views only document their specific ones. Responses a view already
    documents are left alone.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = dict(_ANY_OPERATION)
            if "{" in path:
                statuses.update(_WITH_PATH_ID)
            if method in ("post", "put", "patch", "delete"):
                statuses.update(_WRITES)
            for parameter in operation.get("parameters", []):
                _bound_query_parameter(parameter)
            for status, description in statuses.items():
                operation["responses"].setdefault(status, {"description": description, "content": content})
            for status, response in operation["responses"].items():
                if str(status)[0] not in "45":
                    continue
                documented = response.get("content") or {}
                # Errors are always problem documents, whatever media type a view documented for them.
                response["content"] = {
                    PROBLEM_MEDIA_TYPE: (
                        documented.get(PROBLEM_MEDIA_TYPE)
                        or documented.get("application/json")
                        or content[PROBLEM_MEDIA_TYPE]
                    )
                }
    return result
