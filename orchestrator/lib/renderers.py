"""The API's JSON renderer: DRF's ``JSONRenderer`` output, encoded by orjson.

Why: ``json.dumps`` with DRF's encoder took ~0.3 ms for a 20-row approvals page (17 KB) on the benchmark machine,
orjson ~0.02 ms for the same bytes (issue 22). The output is byte-for-byte DRF's for what the API renders: compact
separators, UTF-8 (``UNICODE_JSON``), U+2028/U+2029 escaped as DRF escapes them, and every type orjson does not
encode the way DRF does (datetimes, dates, times, dataclasses, Decimals, lazy strings, querysets…) handed to DRF's
own ``JSONEncoder.default``. Anything orjson refuses (non-string keys, integers beyond 64 bits, lone surrogates)
and any request for indented output falls back to DRF's renderer, so those answer exactly as before.

Known differences, neither changing a value a client reads: floats in exponent notation are written the shortest
way (``1.5e-7`` where Python writes ``1.5e-07``); a float NaN or infinity renders as ``null``
where DRF's strict mode raised (a 500; the API stores no such value, PostgreSQL's jsonb cannot hold one).
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class FastJSONRenderer(JSONRenderer):
    """``JSONRenderer`` (same media type, format and bytes), encoded by orjson when the output is compact."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if (
            not self.compact
            or self.ensure_ascii
            or self.encoder_class is not JSONEncoder
            or self.get_indent(accepted_media_type or "", renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=_drf_default, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError: DRF decides (and raises, for what it cannot encode either)
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in out or _PARAGRAPH_SEPARATOR in out:  # DRF escapes them (valid JSON, not valid JS)
            out = out.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return out


_encoder = JSONEncoder()


def _drf_default(value: Any) -> Any:
    """DRF's conversion of a value JSON has no type for (``JSONEncoder.default``)."""
    return _encoder.default(value)
