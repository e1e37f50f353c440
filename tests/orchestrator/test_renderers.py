"""The orjson renderer (orchestrator/lib/renderers.py) answers DRF's JSONRenderer's bytes: every type the API
renders, the U+2028/U+2029 escapes, and a fallback to DRF for what orjson does not do the same way."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from approvals.models import ApprovalStatus
from orchestrator.lib.renderers import FastJSONRenderer

UTC = dt.UTC
VALUES: list[Any] = [
    {"a": 1, "b": [1, 2.5, None, True, False], "ü": "ünïcode ✓ 漢字"},
    {"when": dt.datetime(2026, 11, 30, 10, 0, 0, 123456, tzinfo=UTC), "day": dt.date(2026, 11, 30)},
    {"elsewhere": dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "t": dt.time(9, 30)},
    {"naive": dt.datetime(2026, 11, 30, 10, 0), "span": dt.timedelta(seconds=90)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "amount": Decimal("12.50")},
    {"lazy": gettext_lazy("Not found"), "status": ApprovalStatus.PENDING, "floats": [0.1, 2.5, 123456.789, -0.0]},
    {"separators": "line\u2028paragraph\u2029end", "control": "tab\tnewline\n\x00nul", "quote": '"\\'},
    ReturnDict({"rows": ReturnList([{"x": 1}], serializer=None)}, serializer=None),
    [],
    "just a string",
    {"big": 2**70},  # beyond 64 bits: orjson refuses, DRF renders
    {1: "int key", None: "none key"},  # non-string keys: DRF's json.dumps turns them into strings
    {"set": (1, 2, 3)},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_bytes_equal_drf(value: Any) -> None:
    assert FastJSONRenderer().render(value) == JSONRenderer().render(value)


def test_exponents_are_written_differently_but_read_the_same() -> None:
    import json

    value = {"floats": [1e16, 1.5e-7, 1e-300]}
    fast, drf = FastJSONRenderer().render(value), JSONRenderer().render(value)
    assert fast == b'{"floats":[1e+16,1.5e-7,1e-300]}' and drf == b'{"floats":[1e+16,1.5e-07,1e-300]}'
    assert json.loads(fast) == json.loads(drf) == value


def test_none_renders_empty_and_indentation_is_drfs() -> None:
    assert FastJSONRenderer().render(None) == b""
    value = {"a": [1, {"b": 2}]}
    assert FastJSONRenderer().render(value, "application/json; indent=4") == JSONRenderer().render(
        value, "application/json; indent=4"
    )


def test_what_neither_can_encode_raises_like_drf() -> None:
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"x": object()})


@pytest.mark.django_db
def test_the_api_renders_with_it(api) -> None:
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is FastJSONRenderer
    response = api.get("/api/v1/workflows")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(response.json())
