"""Render read-only serializers fast: DRF's fields, built once per class, compiled into a flat plan.

DRF builds a ``ModelSerializer``'s field objects anew for every serializer instance (``get_fields`` →
``build_field`` per model field), then renders each value through ``get_attribute`` → ``to_representation`` with
a ``SkipField`` guard per field. For a 20-row list or a run with its nodes that is most of the request's Python
time. Here each serializer class is instantiated once per process, and its readable fields are turned into a plan
of ``(name, getter, converter)``: plain model attributes are read with ``getattr`` and the common field types
(UUID, text, integer, boolean, JSON, ISO-8601 datetime) are converted inline exactly as DRF does; anything else
(method fields, dotted sources, choice fields, custom fields) goes through the DRF field itself, and nested
serializers get a plan of their own.

The output equals ``Serializer(obj).data`` — asserted for every serializer rendered here in
tests/orchestrator/test_represent.py.

Precondition: the serializer class is read-only in use, does not read ``self.context``, and its fields are not
changed per request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import models
from rest_framework import fields as drf_fields
from rest_framework import mixins, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

_plans: dict[type[serializers.BaseSerializer], Callable[[Any], Any]] = {}


_ZERO = dt.timedelta(0)
# The API renders in UTC: ``TIME_ZONE`` is UTC and no code path activates another zone, so a UTC value needs no
# conversion (DRF would convert to the current zone, which is then UTC too). Decided once, at first use.
_utc_only: bool | None = None


def _iso_datetime(field: drf_fields.Field) -> Callable[[Any], Any]:
    """DRF ``DateTimeField.to_representation`` (default ISO-8601 format): a UTC value is formatted directly, any
    other (naive, another offset, another active zone) goes through the field."""
    slow = field.to_representation

    def render(value: dt.datetime) -> Any:
        if _utc_only and value.utcoffset() == _ZERO:
            text = value.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return slow(value)

    return render


def _identity(value: Any) -> Any:
    return value


def _converter(field: drf_fields.Field) -> Callable[[Any], Any]:
    """An inline equivalent of ``field.to_representation`` for the common exact types, else the field's own."""
    kind = type(field)
    if kind is drf_fields.UUIDField and getattr(field, "uuid_format", None) == "hex_verbose":
        return str
    if kind in (drf_fields.CharField, drf_fields.EmailField, drf_fields.URLField, drf_fields.SlugField):
        return str
    if kind is drf_fields.IntegerField:
        return int
    if kind is drf_fields.JSONField and not getattr(field, "binary", False):
        return _identity
    if kind is drf_fields.ReadOnlyField:
        return _identity
    if (
        kind is drf_fields.DateTimeField
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == api_settings.DATETIME_FORMAT
        and str(api_settings.DATETIME_FORMAT).lower() == "iso-8601"
        and getattr(field, "timezone", None) is None
    ):
        return _iso_datetime(field)
    if isinstance(field, serializers.ListSerializer):
        assert isinstance(field.child, serializers.BaseSerializer)
        child = _compile(field.child)

        def many(value: Any) -> list[Any]:
            iterable = value.all() if isinstance(value, models.manager.BaseManager) else value
            return [child(item) for item in iterable]

        return many
    if isinstance(field, serializers.BaseSerializer):
        return _compile(field)
    return field.to_representation


# Value fields whose ``get_attribute`` is the plain attribute read (relations are not: DRF reads their primary key
# without loading the object, so they keep their own method).
_PLAIN_VALUE_FIELDS = (
    drf_fields.UUIDField, drf_fields.CharField, drf_fields.EmailField, drf_fields.URLField, drf_fields.SlugField,
    drf_fields.IntegerField, drf_fields.FloatField, drf_fields.BooleanField, drf_fields.JSONField,
    drf_fields.ReadOnlyField, drf_fields.DateTimeField, drf_fields.ChoiceField,
)  # fmt: skip


def _is_plain(field: drf_fields.Field) -> bool:
    """A value field reading one plain attribute (relations are not: DRF reads their primary key without loading
    the object)."""
    attrs = field.source_attrs
    return type(field) in _PLAIN_VALUE_FIELDS and len(attrs) == 1 and attrs[0] != "*"


def _compile(serializer: serializers.BaseSerializer) -> Callable[[Any], Any]:
    """A function rendering one instance like ``serializer.to_representation``.

    Model fields are read straight from the instance's ``__dict__``, where Django keeps loaded field values under
    their attribute names (``run_id``), and keys of a plain ``dict`` likewise; a name that is not there (a
    property, a deferred column, a relation, a missing key) goes through DRF's own ``get_attribute``.
    """
    global _utc_only
    if _utc_only is None:
        _utc_only = bool(settings.USE_TZ) and settings.TIME_ZONE == "UTC"
    plan = [
        (f.field_name, f.source_attrs[0] if _is_plain(f) else None, f.get_attribute, _converter(f))
        for f in serializer._readable_fields  # type: ignore[attr-defined]
    ]

    def render(instance: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # A dict is read by key, exactly as DRF's ``get_attribute`` reads a mapping (a missing key falls back to it).
        loaded = (
            instance if type(instance) is dict else instance.__dict__ if isinstance(instance, models.Model) else _EMPTY
        )
        for name, attname, get, convert in plan:
            if attname is not None and attname in loaded:
                value = loaded[attname]
            else:
                try:
                    value = get(instance)
                except SkipField:
                    continue
                if isinstance(value, PKOnlyObject) and value.pk is None:
                    out[name] = None
                    continue
            out[name] = None if value is None else convert(value)
        return out

    return render


_EMPTY: dict[str, Any] = {}


def _renderer(serializer_class: type[serializers.BaseSerializer]) -> Callable[[Any], Any]:
    render = _plans.get(serializer_class)
    if render is None:
        render = _plans[serializer_class] = _compile(serializer_class())
    return render


def represent(serializer_class: type[serializers.BaseSerializer], instance: Any) -> dict[str, Any]:
    """``serializer_class(instance).data``, rendered by the compiled plan."""
    return dict(_renderer(serializer_class)(instance))


def represent_many(serializer_class: type[serializers.BaseSerializer], instances: Iterable[Any]) -> list[Any]:
    """``serializer_class(instances, many=True).data``, rendered by the compiled plan."""
    render = _renderer(serializer_class)
    return [render(instance) for instance in instances]


class RepresentedListMixin(mixins.ListModelMixin):
    """``ListModelMixin`` whose rows are rendered by ``represent_many`` (same payload, a fraction of the time)."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        serializer_class = self.get_serializer_class()  # type: ignore[attr-defined]
        page = self.paginate_queryset(queryset)  # type: ignore[attr-defined]
        if page is not None:
            return self.get_paginated_response(represent_many(serializer_class, page))  # type: ignore[attr-defined]
        return Response(represent_many(serializer_class, queryset))
