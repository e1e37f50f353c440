"""Executor action catalogues (issue 19): which actions each executor can run, with their params' JSON Schema and
tool descriptor (risk, reasons, summary, preview).

- ``local``: the built-in tools registered with ``@tool`` (``orchestrator.executors.local`` / ``workspace_tools``).
- ``task_controller``: configured — the file ``TASK_CONTROLLER_CATALOGUE_FILE`` or, when unset, the default shipped
  next to this module (``desktop.*``, ``agent.run`` and the built-in tools) — and, when
  ``TASK_CONTROLLER_CAPABILITIES_TTL_SECONDS`` > 0, refreshed from the controller's ``GET /api/v1/capabilities``
  (docs/task-controller-capabilities.md). The controller then decides which actions exist and their schemas; an
  action also configured keeps the higher of the two risk levels (the operator's word is a floor).

Definition validation asks ``checker()`` (an ``ActionChecker``) about every TASK: the executor (the node's
``"executor"``, else the run's, else ``EXECUTOR_BACKEND``) must be one of ``EXECUTOR_CHOICES``, the action must be
in that executor's catalogue and the params must satisfy its schema (then the local tool's own validator).
The task controller's descriptors are also a descriptor source of ``orchestrator.lib.tools`` (registered in
``OrchestratorConfig.ready``), so the risk policy and previews know ``desktop.purchase`` is HIGH.
"""

from __future__ import annotations

import json
import logging
import string
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from orchestrator.lib import tools
from orchestrator.lib.tools import RISK_LEVELS, Tool, ToolContext, ToolError

from . import local, task_controller, workspace_tools  # noqa: F401  (registers the built-in tools)

logger = logging.getLogger(__name__)
EXECUTORS: tuple[str, ...] = ("local", "task_controller")
DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "task_controller_catalogue.json"
ANY_OBJECT: Mapping[str, Any] = {"type": "object"}
_RANK = {level: rank for rank, level in enumerate(RISK_LEVELS)}


class CatalogueError(ValueError):
    """A catalogue document (file or capabilities answer) that does not have the documented shape."""


@dataclass(frozen=True)
class Action:
    """One action an executor can run."""

    name: str
    schema: Mapping[str, Any]
    descriptor: Tool

    def problems(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        """``[(field, message)]`` for ``params``: JSON Schema errors first, then the tool's own validator."""
        found = schema_problems(self.schema, params)
        return found or [(sub, message) for sub, message in self.descriptor.validate(params)]

    def as_dict(self) -> dict[str, Any]:
        level, reasons = self.descriptor.declared_risk()
        return {
            "name": self.name,
            "params": dict(self.schema),
            "risk": level,
            "reasons": reasons,
            "idempotent": self.descriptor.idempotent,
        }


# --- JSON Schema errors as field paths --------------------------------------------------------------------------


def _join(path: str, part: Any) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def schema_problems(schema: Mapping[str, Any], params: Any) -> list[tuple[str, str]]:
    """``[(field, message)]`` of ``params`` against ``schema``; field is relative to params ("" = params itself):
    a missing required property is named (``url: Required.``), so is an unexpected one."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    out: list[tuple[str, str]] = []
    for error in sorted(validator.iter_errors(params), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ""
        for part in error.absolute_path:
            where = _join(where, part)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, Mapping):
            for name in error.validator_value:
                if name not in instance:
                    out.append((_join(where, name), "Required."))
        elif error.validator == "additionalProperties" and isinstance(instance, Mapping):
            known = set((error.schema or {}).get("properties", {}))
            for name in instance:
                if name not in known:
                    out.append((_join(where, name), f"Unknown parameter {name!r}."))
        elif error.validator in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
            forms = [" and ".join(s.get("required", [])) for s in error.validator_value if isinstance(s, Mapping)]
            out.append((where, "Needs " + " or ".join(f for f in forms if f) + "." if any(forms) else error.message))
        else:
            out.append((where, error.message[:300]))
    return out


# --- Building catalogues ----------------------------------------------------------------------------------------


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _template(text: str) -> Any:
    """A summary/preview template (``"Buy {item} on {url}"``) as a describer; a missing field renders as ``?``."""
    names = {field for _, field, _, _ in string.Formatter().parse(text) if field}

    def describe(params: Mapping[str, Any]) -> str:
        values = _Blank({k: params[k] for k in names if k in params and isinstance(params[k], (str, int, float))})
        try:
            return text.format_map(values)
        except (ValueError, IndexError, AttributeError):
            return text

    return describe


def _runs_elsewhere(params: dict[str, Any], ctx: ToolContext) -> None:
    raise ToolError("this action runs on the task controller, not in the worker", retryable=False)


def _action_from_spec(name: str, spec: Any) -> Action:
    if not isinstance(spec, Mapping):
        raise CatalogueError(f"{name}: an action is a JSON object")
    schema = spec.get("params", ANY_OBJECT)
    if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
        raise CatalogueError(f"{name}.params: a JSON Schema of type object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise CatalogueError(f"{name}.params: not a valid JSON Schema: {exc.message}") from exc
    risk = spec.get("risk")
    if risk is not None and risk not in RISK_LEVELS:
        raise CatalogueError(f"{name}.risk: one of {', '.join(RISK_LEVELS)}")
    reasons = spec.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise CatalogueError(f"{name}.reasons: a list of strings")
    texts = {key: spec.get(key) for key in ("summary", "preview")}
    if any(value is not None and not isinstance(value, str) for value in texts.values()):
        raise CatalogueError(f"{name}: summary and preview are strings")
    descriptor = Tool(
        name=name,
        fn=_runs_elsewhere,
        validate=lambda params: [],
        risk=risk,
        reasons=tuple(reasons),
        summary=_template(texts["summary"]) if texts["summary"] else None,
        preview=_template(texts["preview"]) if texts["preview"] else None,
        idempotent=spec.get("idempotent") is True,
        schema=schema,
    )
    return Action(name=name, schema=schema, descriptor=descriptor)


def local_catalogue() -> dict[str, Action]:
    """The local executor's actions: every registered built-in tool."""
    return {
        name: Action(name=name, schema=found.schema or ANY_OBJECT, descriptor=found)
        for name, found in tools.local_tools().items()
    }


def parse_catalogue(document: Any) -> dict[str, Action]:
    """Actions of a catalogue document ``{"builtin"?: bool, "namespaces": {ns: {"actions": {verb: spec}}}}``
    (the file format and the capabilities answer). Raises ``CatalogueError`` naming the bad part."""
    if not isinstance(document, Mapping):
        raise CatalogueError("a catalogue is a JSON object")
    actions: dict[str, Action] = local_catalogue() if document.get("builtin") is True else {}
    namespaces = document.get("namespaces", {})
    if not isinstance(namespaces, Mapping):
        raise CatalogueError("namespaces: an object of namespace → {actions}")
    for namespace, body in namespaces.items():
        entries = body.get("actions") if isinstance(body, Mapping) else None
        if not isinstance(entries, Mapping):
            raise CatalogueError(f"namespaces.{namespace}.actions: an object of action → spec")
        for verb, spec in entries.items():
            name = f"{namespace}.{verb}"
            actions[name] = _action_from_spec(name, spec)
    return actions


@lru_cache(maxsize=4)
def _configured(path: str) -> dict[str, Action]:
    source = Path(path) if path else DEFAULT_CATALOGUE
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{source}: {exc}") from exc
    return parse_catalogue(document)


def configured_catalogue() -> dict[str, Action]:
    """The task controller's catalogue from configuration (checked at start-up by ``check_configuration``)."""
    return _configured(str(settings.TASK_CONTROLLER_CATALOGUE_FILE or ""))


def check_configuration() -> None:
    """Raise ``CatalogueError`` when the configured catalogue file is unreadable or malformed (start-up)."""
    configured_catalogue()


def merge(configured: Mapping[str, Action], offered: Mapping[str, Action]) -> dict[str, Action]:
    """What the controller offers, each action at least as risky as the configuration says."""
    merged: dict[str, Action] = {}
    for name, action in offered.items():
        floor = configured.get(name)
        if floor is not None:
            floor_level, floor_reasons = floor.descriptor.declared_risk()
            level, _ = action.descriptor.declared_risk()
            if _RANK[floor_level] > _RANK[level]:
                descriptor = Tool(
                    **{**action.descriptor.__dict__, "risk": floor_level, "reasons": tuple(floor_reasons)}
                )
                action = Action(name=name, schema=action.schema, descriptor=descriptor)
        merged[name] = action
    return merged


# --- The controller's capabilities, cached per process ----------------------------------------------------------

_lock = threading.Lock()
_offered: dict[str, Any] = {"actions": None, "fetched_at": 0.0, "error": ""}


def refresh(*, now: float | None = None) -> dict[str, Action]:
    """Fetch ``GET /api/v1/capabilities`` now and remember it; raises ``TaskControllerError``/``CatalogueError``."""
    offered = parse_catalogue(task_controller.capabilities())
    with _lock:
        _offered.update(actions=offered, fetched_at=time.monotonic() if now is None else now, error="")
    return merge(configured_catalogue(), offered)


def forget() -> None:
    """Drop the cached capabilities (tests, settings changes)."""
    with _lock:
        _offered.update(actions=None, fetched_at=0.0, error="")


def task_controller_catalogue(*, may_fetch: bool = True) -> dict[str, Action]:
    """The task controller's actions: the configured catalogue, or the controller's capabilities when refreshing is
    on (fetched when older than the TTL and ``may_fetch``; on a failed fetch the last answer, else the configured
    catalogue, is used and the failure logged)."""
    configured = configured_catalogue()
    ttl = settings.TASK_CONTROLLER_CAPABILITIES_TTL_SECONDS
    if not ttl:
        return configured
    with _lock:
        offered, fetched_at = _offered["actions"], _offered["fetched_at"]
    if may_fetch and (offered is None or time.monotonic() - fetched_at >= ttl):
        try:
            return refresh()
        except (task_controller.TaskControllerError, CatalogueError) as exc:
            logger.warning("task controller capabilities not refreshed: %s", exc)
            with _lock:
                _offered.update(fetched_at=time.monotonic(), error=str(exc))
    return merge(configured, offered) if offered is not None else configured


def catalogue_for(executor: str, *, may_fetch: bool = True) -> dict[str, Action]:
    return local_catalogue() if executor == "local" else task_controller_catalogue(may_fetch=may_fetch)


def choices() -> tuple[str, ...]:
    """The executors a run may pick (``EXECUTOR_CHOICES``, always including ``EXECUTOR_BACKEND``)."""
    allowed = [settings.EXECUTOR_BACKEND, *(e for e in settings.EXECUTOR_CHOICES if e != settings.EXECUTOR_BACKEND)]
    return tuple(e for e in allowed if e in EXECUTORS)


def executor_of(config: Mapping[str, Any]) -> str:
    """The executor that runs a TASK node (its stored ``executor``, else ``EXECUTOR_BACKEND``)."""
    chosen = config.get("executor") if isinstance(config, Mapping) else None
    return chosen if chosen in EXECUTORS else settings.EXECUTOR_BACKEND


def is_remote(config: Mapping[str, Any]) -> bool:
    return executor_of(config) == "task_controller"


def describe(name: str) -> Tool | None:
    """Descriptor source for ``orchestrator.lib.tools.get_tool``: the task controller's action ``name`` (cached
    state only, no I/O; a broken catalogue file describes nothing here and fails validation loudly instead)."""
    try:
        found = task_controller_catalogue(may_fetch=False).get(name)
    except CatalogueError:
        return None
    return found.descriptor if found is not None else None


class Checker:
    """The ``ActionChecker`` definition validation uses (see the module docstring)."""

    def problems(self, tool: Any, params: dict[str, Any], executor: Any) -> list[tuple[str, str]]:
        allowed = choices()
        if executor is None:
            executor = settings.EXECUTOR_BACKEND
        elif executor not in allowed:
            return [("executor", f"One of {', '.join(allowed)} (EXECUTOR_CHOICES); got {executor!r}.")]
        actions = catalogue_for(executor)
        action = actions.get(tool) if isinstance(tool, str) else None
        if action is None:
            return [
                ("tool", f"Unknown action {tool!r} for the {executor} executor; known: {', '.join(sorted(actions))}.")
            ]
        return [(f"params.{sub}" if sub else "params", message) for sub, message in action.problems(params)]


def checker() -> Checker:
    return Checker()
