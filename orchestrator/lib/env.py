"""Typed helpers that read settings from the environment and fail fast.

Every helper raises :class:`ImproperlyConfigured` with the variable's name when a value cannot be parsed, so a
bad deployment stops at start-up with a message an operator can act on instead of failing later at 3 a.m.
Secrets may also come from ``<NAME>_FILE`` (a path whose content is the value), which is how Kubernetes and
Docker secrets are usually mounted.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
    """Reads typed values from a mapping (``os.environ`` by default) so tests can pass their own."""

    def __init__(self, source: Mapping[builtins.str, builtins.str] | None = None) -> None:
        self.source = os.environ if source is None else source

    def _raw(self, name: builtins.str) -> builtins.str | None:
        value = self.source.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        value = self._raw(name)
        return default if value is None else value

    def secret(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        """``NAME`` or the content of the file named by ``NAME_FILE`` (both set is an error)."""
        direct = self._raw(name)
        file_name = self._raw(f"{name}_FILE")
        if direct is not None and file_name is not None:
            raise ImproperlyConfigured(f"{name}: set either {name} or {name}_FILE, not both")
        if file_name is not None:
            try:
                return Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc.strerror}") from exc
        return default if direct is None else direct

    def bool(self, name: builtins.str, default: builtins.bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name}: expected true/false, got {value!r}")

    def int(
        self,
        name: builtins.str,
        default: builtins.int,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            parsed = builtins.int(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: expected an integer, got {value!r}") from exc
        if minimum is not None and parsed < minimum:
            raise ImproperlyConfigured(f"{name}: must be >= {minimum}, got {parsed}")
        if maximum is not None and parsed > maximum:
            raise ImproperlyConfigured(f"{name}: must be <= {maximum}, got {parsed}")
        return parsed

    def list(self, name: builtins.str, default: builtins.list[builtins.str]) -> builtins.list[builtins.str]:
        value = self._raw(name)
        if value is None:
            return builtins.list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: builtins.str, default: builtins.str, choices: tuple[builtins.str, ...]) -> builtins.str:
        value = self._raw(name) or default
        if value not in choices:
            raise ImproperlyConfigured(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        return value

    def url(
        self, name: builtins.str, default: builtins.str | None, schemes: tuple[builtins.str, ...]
    ) -> builtins.str | None:
        value = self._raw(name)
        if value is None:
            return default
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in schemes:
            raise ImproperlyConfigured(f"{name}: expected a URL starting with {' or '.join(schemes)}")
        return value


env = Env()
