"""The API's JSON parser: DRF's, refusing what the database or the rest of the code cannot hold (issue 16).

Refused with a 400 problem document and a stable code:
- nesting deeper than ``MAX_JSON_DEPTH`` (``nesting_too_deep``); very deep input used to end in a RecursionError;
- strings with U+0000 (``invalid_unicode``): PostgreSQL cannot store it in ``text`` or ``jsonb``;
- lone surrogates, e.g. ``"\\ud800"`` (``invalid_unicode``): valid JSON syntax, but not Unicode, so encoding the
  value for the database failed; invalid UTF-8 bytes are refused by DRF's parser already;
- numbers beyond a double (``1e400`` parses as infinity, which ``jsonb`` refuses) (``number_out_of_range``).

The full walk of the parsed value runs only when the raw body could hold one of these (enough brackets, an
escape that spells U+0000 or a surrogate, a huge exponent), so ordinary requests pay a few byte searches.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from orchestrator.lib.bounds import MAX_JSON_DEPTH
from orchestrator.lib.errors import InvalidInput

_SUSPECT = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\d[eE][+]?\d{3}|\d{300}")


def _is_surrogate_free(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_string(text: str, where: str) -> None:
    if "\x00" in text:
        raise InvalidInput(
            "JSON strings may not contain the NUL character (\\u0000).", field=where, code="invalid_unicode"
        )
    if not _is_surrogate_free(text):
        raise InvalidInput(
            "JSON strings must be valid Unicode (a lone surrogate such as \\ud800 is not).",
            field=where,
            code="invalid_unicode",
        )


def check_json_value(value: Any) -> None:
    """Walk a parsed JSON value without recursion; raise ``InvalidInput`` on the first refused part."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            for key, child in item.items():
                _check_string(key, where or "body")
                stack.append((child, depth + 1, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_string(item, where or "body")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(
                "Numbers must fit a 64-bit floating point value.", field=where or "body", code="number_out_of_range"
            )


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.", field="body", code="nesting_too_deep"
    )


class StrictJSONParser(JSONParser):
    """``application/json`` within the limits above."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        except ParseError as exc:
            if isinstance(exc.__context__, UnicodeDecodeError):
                raise InvalidInput("The body is not valid UTF-8.", field="body", code="invalid_unicode") from None
            raise
        if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH or _SUSPECT.search(raw):
            check_json_value(data)
        return data
