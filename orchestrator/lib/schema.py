"""OpenAPI descriptions drf-spectacular cannot derive on its own."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
