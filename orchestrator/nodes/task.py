"""TASK: one action (a registered tool with params) run by an executor, with retries, a timeout and approval."""

from __future__ import annotations

from typing import Any

from orchestrator.retries import DEFAULT_RETRY

from .base import Check, FieldDoc, NodeKind, is_number, json_size, unknown_fields

MAX_PARAMS_BYTES = 64 * 1024
MAX_RETRY_ATTEMPTS = 25
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
RETRY_FIELDS = frozenset({"max_attempts", "backoff_seconds", "max_backoff_seconds"})


def validate(check: Check, raw: dict[str, Any], config: dict[str, Any]) -> None:
    """``action`` (a known tool, params it accepts), ``retry``, ``timeout_seconds``, ``requires_approval``,
    ``on_reject``; fills ``config`` with them (``retry`` merged over ``DEFAULT_RETRY``)."""
    errors, path, tool_validators = check.errors, check.path, check.tool_validators
    action = raw.get("action")
    if not isinstance(action, dict):
        errors.add(f"{path}.action", 'Required: {"tool": "<name>", "params": {…}}.')
    else:
        unknown_fields(errors, f"{path}.action", action, ("tool", "params"), "an action")
        tool = action.get("tool")
        params = action.get("params", {})
        if params is None:
            params = {}
        executor = raw.get("executor")
        if not isinstance(params, dict):
            params_ok = False
            errors.add(f"{path}.action.params", "Must be a JSON object.")
        elif json_size(params) > MAX_PARAMS_BYTES:
            params_ok = False
            errors.add(f"{path}.action.params", f"At most {MAX_PARAMS_BYTES} bytes of JSON.")
        else:
            params_ok = True
        # The catalogue of the executor that will run the action judges the tool and (when sane) its params.
        for where, message in tool_validators.problems(tool, params if params_ok else {}, executor):
            if where == "executor":
                errors.add(f"{path}.executor" if executor is not None else "executor", message)
            elif where == "tool":
                errors.add(f"{path}.action.tool", message)
            elif params_ok:
                errors.add(f"{path}.action.{where}", message)
        chosen = executor if executor is not None else tool_validators.executor
        if chosen is not None:
            config["executor"] = chosen
        config["action"] = {"tool": tool, "params": params}
    retry = raw.get("retry")
    merged = dict(DEFAULT_RETRY)
    if retry is not None:
        if not isinstance(retry, dict):
            errors.add(f"{path}.retry", 'Must be {"max_attempts", "backoff_seconds", "max_backoff_seconds"}.')
        else:
            unknown_fields(errors, f"{path}.retry", retry, RETRY_FIELDS, "retry")
            attempts = retry.get("max_attempts", 1)
            if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= MAX_RETRY_ATTEMPTS:
                errors.add(f"{path}.retry.max_attempts", f"An integer between 1 and {MAX_RETRY_ATTEMPTS}.")
            for name, upper in (("backoff_seconds", 3600), ("max_backoff_seconds", 86400)):
                value = retry.get(name, DEFAULT_RETRY[name])
                if not is_number(value) or not 0 <= value <= upper:
                    errors.add(f"{path}.retry.{name}", f"A number of seconds between 0 and {upper}.")
            merged.update({k: v for k, v in retry.items() if k in RETRY_FIELDS})
    config["retry"] = merged
    timeout = raw.get("timeout_seconds")
    if timeout is not None and (not is_number(timeout) or not 0 < timeout <= MAX_TIMEOUT_SECONDS):
        errors.add(f"{path}.timeout_seconds", f"A number of seconds between 0 (exclusive) and {MAX_TIMEOUT_SECONDS}.")
    config["timeout_seconds"] = timeout
    requires_approval = raw.get("requires_approval", False)
    if not isinstance(requires_approval, bool):
        errors.add(f"{path}.requires_approval", "Must be a boolean.")
    config["requires_approval"] = requires_approval
    on_reject = raw.get("on_reject", "fail")
    if on_reject not in ("fail", "skip"):
        errors.add(f"{path}.on_reject", "One of 'fail' (default) or 'skip'.")
    config["on_reject"] = on_reject


KIND = NodeKind(
    name="TASK",
    fields=frozenset({"action", "retry", "timeout_seconds", "requires_approval", "on_reject", "executor"}),
    validate=validate,
    example={"action": {"tool": "noop", "params": {}}},
    claim=None,  # runs its action on an executor: the scheduler's approvals gate, workspace and attempt
    docs={
        "action": FieldDoc("object", '{"tool", "params"}: an action in the catalogue of the executor that runs it'),
        "retry": FieldDoc("object", "max_attempts, backoff_seconds, max_backoff_seconds"),
        "timeout_seconds": FieldDoc("number", "bound of one attempt (> 0)", maximum=MAX_TIMEOUT_SECONDS),
        "requires_approval": FieldDoc("boolean", "ask a person even when the risk policy would not"),
        "on_reject": FieldDoc("string", "a rejection fails the run or skips the step", choices=("fail", "skip")),
        "executor": FieldDoc("string", "the executor that runs it, where several are configured (EXECUTOR_CHOICES)"),
    },
)
