"""The API's JSON parser: DRF's, refusing strings with NUL characters.

PostgreSQL cannot store U+0000 in ``text`` or ``jsonb`` ("unsupported Unicode escape sequence"), so a body such as
``{"metadata": {"a": "\\u0000"}}`` used to reach the database and end in a 500. It is a client mistake: 400.
"""

from __future__ import annotations

import io
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


class StrictJSONParser(JSONParser):
    """``application/json`` without U+0000 anywhere (keys or values). Only bodies that spell ``\\u0000`` are
    walked, so ordinary requests pay one substring search."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if b"\\u0000" in raw and _contains_nul(data):
            raise ParseError("JSON strings may not contain the NUL character (\\u0000).")
        return data
