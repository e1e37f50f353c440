"""The HTTP methods a request really asks for (issue 16): the declared one and every override a server may honour.

Many frameworks let a request tunnel another method through a safe one: the ``X-HTTP-Method-Override``,
``X-Method-Override`` and ``X-HTTP-Method`` headers (any case), or a ``_method`` field in the query string or the
body (Rails, Laravel, Symfony, method-override middleware). A ``GET`` carrying ``X-HTTP-Method-Override: DELETE``
is a DELETE to such a server, so risk (``approvals.policy``) and the reviewer's summary (``approvals.preview``)
consider every method here, not only ``params["method"]``. Pure functions on the ``http.request`` params.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

OVERRIDE_HEADERS = ("x-http-method-override", "x-method-override", "x-http-method")
OVERRIDE_FIELD = "_method"
_MAX_LEN = 40  # a method longer than this is not one: shown truncated as unrecognised


@dataclass(frozen=True)
class Method:
    """One method the request asks for: ``name`` (upper case, stripped) and where it comes from (``source``;
    ``"method"`` for the declared one). ``valid`` is False for a value that is not a string (``name`` is then its
    ``repr``)."""

    name: str
    source: str
    valid: bool = True


def _method(value: Any, source: str) -> Method | None:
    """``value`` as a method; None for an empty override (ignored by servers); an empty declared method is GET."""
    if not isinstance(value, str):
        return Method(name=repr(value)[:_MAX_LEN], source=source, valid=False)
    name = value.strip().upper()[:_MAX_LEN]
    if not name:
        return Method(name="GET", source=source) if source == "method" else None
    return Method(name=name, source=source)


def _form_fields(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=1000)
    except ValueError:
        return []


def requested_methods(params: Mapping[str, Any]) -> list[Method]:
    """The declared method (``GET`` when absent) followed by every override found, each once per source.

    Sources: the override headers in ``params["headers"]`` (names matched case-insensitively), ``_method`` in the
    URL's query string, and ``_method`` at the top of the body (``params["json"]``: an object's key, or a field of
    a form-encoded string). Never raises on odd shapes (they are skipped, or reported as invalid methods).
    """
    declared = params.get("method")
    found = [_method("GET" if declared is None else declared, "method")]
    headers = params.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(name, str) and name.strip().lower() in OVERRIDE_HEADERS:
                found.append(_method(value, f"the {name.strip()} header"))
    url = params.get("url")
    if isinstance(url, str):
        try:
            query = urlsplit(url).query
        except ValueError:
            query = ""
        found += [_method(v, "_method in the query") for k, v in _form_fields(query) if k.lower() == OVERRIDE_FIELD]
    body = params.get("json")
    if isinstance(body, Mapping):
        found += [
            _method(v, "_method in the body")
            for k, v in body.items()
            if isinstance(k, str) and k.lower() == OVERRIDE_FIELD
        ]
    elif isinstance(body, str):
        found += [_method(v, "_method in the body") for k, v in _form_fields(body) if k.lower() == OVERRIDE_FIELD]
    return [method for method in found if method is not None]


def effective_method(params: Mapping[str, Any]) -> Method:
    """The method a server that honours overrides would most likely run (headers are checked first by most
    middleware): the first override found, else the declared one. Risk looks at all of them."""
    methods = requested_methods(params)
    return methods[1] if len(methods) > 1 else methods[0]
