"""``limit`` + ``next`` pagination (SPEC §2): a cursor so pages stay stable while rows are added.

Cursors are signed (HMAC with ``SECRET_KEY``, salted with the list's path): the server only ever reads back a cursor
it wrote for the same list, so a hand-made or garbled one is a 400 ``invalid_cursor`` instead of a position the
database cannot compare (which used to be a 500).
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from typing import Any, cast
from urllib import parse

from django.core import signing
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from orchestrator.lib.errors import InvalidInput


class LimitCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-id")
    cursor_query_param = "cursor"

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError as exc:
            raise ValidationError({"limit": ["Must be an integer between 1 and 200."]}) from exc
        if value < 1:
            raise ValidationError({"limit": ["Must be an integer between 1 and 200."]})
        return min(value, self.max_page_size)

    def _signer(self, path: str) -> signing.Signer:
        return signing.Signer(salt=f"orchestrator.lib.pagination:{path}")

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self._path = request.path  # the salt of the cursors of this list
        return super().paginate_queryset(queryset, request, view)

    def encode_cursor(self, cursor: Cursor) -> str:
        tokens: dict[str, Any] = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
        signed = self._signer(self._path).sign(encoded)
        return replace_query_param(self.base_url or "", self.cursor_query_param, signed)

    def decode_cursor(self, request: Any) -> Cursor | None:
        signed = request.query_params.get(self.cursor_query_param)
        if signed is None:
            return None
        try:
            encoded = self._signer(request.path).unsign(signed)
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"), keep_blank_values=True)
            offset = _positive_int(tokens.get("o", ["0"])[0], cutoff=self.offset_cutoff)
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
        except (signing.BadSignature, TypeError, ValueError, UnicodeError):
            raise InvalidInput(
                "Invalid cursor: use the `next` link of a previous page unchanged.",
                field="cursor",
                code="invalid_cursor",
            ) from None
        return Cursor(offset=offset, reverse=reverse, position=cast(Any, position))  # DRF's positions are strings

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """The real bounds: ``limit`` 1–200 (larger values are clamped to 200), ``cursor`` an opaque signed token."""
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` link's cursor, unchanged (signed; anything else is 400 invalid_cursor).",
                "schema": {"type": "string", "maxLength": 2000},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
