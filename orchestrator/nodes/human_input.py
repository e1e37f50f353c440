"""INPUT: the run waits (durably) for a person to fill a form; the values become the node's output (issue 19).

``{"form": <JSON Schema>, "prompt": "…", "assignees": {"groups": [...]}, "due_in_minutes": n, "default": {...}}``.
Claimed READY, the node goes WAITING with its due time as the timer (``not_before``, like WAIT) and announces
``input.requested``. A person submits the values (``orchestrator.inputs.submit_input``: the console form or
``POST /workflows/{id}/nodes/{key}/input``), which completes the node with them as its output. When the timer is
due and nobody submitted, the scheduler claims it again: FAILED with ``input_expired``, or COMPLETED with the
declared ``default``; either way ``input.expired`` is announced.

The form is a deliberately small subset of JSON Schema, the field kinds the console renders (docs/decisions.md,
"Human input"): an object of ``properties``, each ``string`` (a text box; a text area with ``"x-multiline": true``),
``number``, ``integer``, ``boolean`` (a check box) or any of these with ``enum`` (choices), with ``title``,
``description``, ``default`` and bounds (``minLength``/``maxLength``, ``minimum``/``maximum``; no ``pattern``).
Field names are identifiers, so a DECISION can read ``<key>.output.<field>``. Submitted values must match it
exactly: required fields present, no unknown field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from orchestrator.lib.bounds import max_wait

from .base import (
    Announce,
    Check,
    Claimed,
    ClaimOutcome,
    Errors,
    Fail,
    FieldDoc,
    Finish,
    NodeKind,
    WaitUntil,
    is_number,
    json_size,
    unknown_fields,
)

NAME = "INPUT"
FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
FIELD_TYPES = ("string", "number", "integer", "boolean")
FORM_KEYS = ("$schema", "type", "title", "description", "properties", "required")
FIELD_KEYS = (
    "type",
    "title",
    "description",
    "enum",
    "default",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "x-multiline",
)
# No ``pattern``: a definition's regular expression run on a reviewer's text is a denial of service waiting to
# happen (catastrophic backtracking in ``re``), and the console could not explain it to the person anyway.
STRING_ONLY = ("minLength", "maxLength", "x-multiline")
NUMBER_ONLY = ("minimum", "maximum")
MAX_FIELDS = 50
MAX_ENUM = 100
MAX_FORM_BYTES = 32 * 1024
MAX_VALUES_BYTES = 64 * 1024
MAX_PROMPT_CHARS = 2000
MAX_GROUPS = 20
DEFAULT_DUE_MINUTES = 24 * 60
EXPIRED = "input_expired"


def _type_matches(field_type: str, value: Any) -> bool:
    if field_type == "string":
        return isinstance(value, str)
    if field_type == "boolean":
        return isinstance(value, bool)
    if field_type == "integer":
        return is_number(value) and float(value).is_integer()
    return is_number(value)


def _check_field(errors: Errors, where: str, name: str, spec: Any) -> None:
    """One property of the form: a kind the console renders, and bounds that make sense for it."""
    if not FIELD_NAME_RE.match(name):
        errors.add(where, "A field name is a letter or '_' then letters, digits or '_' (at most 64).")
    if not isinstance(spec, dict):
        errors.add(where, 'Each field is an object such as {"type": "string", "title": "…"}.')
        return
    unknown_fields(errors, where, spec, FIELD_KEYS, "a form field")
    field_type = spec.get("type")
    if field_type not in FIELD_TYPES:
        errors.add(f"{where}.type", f"Required: one of {', '.join(FIELD_TYPES)}.")
        return
    for text, limit in (("title", 200), ("description", 1000)):
        if text in spec and (not isinstance(spec[text], str) or len(spec[text]) > limit):
            errors.add(f"{where}.{text}", f"A string of at most {limit} characters.")
    for key in STRING_ONLY:
        if key in spec and field_type != "string":
            errors.add(f"{where}.{key}", f"Only for string fields (this one is {field_type}).")
    for key in NUMBER_ONLY:
        if key in spec and field_type not in ("number", "integer"):
            errors.add(f"{where}.{key}", f"Only for number and integer fields (this one is {field_type}).")
        elif key in spec and not is_number(spec[key]):
            errors.add(f"{where}.{key}", "A number.")
    for key in ("minLength", "maxLength"):
        value = spec.get(key)
        if key in spec and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000):
            errors.add(f"{where}.{key}", "An integer between 0 and 100000.")
    if "x-multiline" in spec and not isinstance(spec["x-multiline"], bool):
        errors.add(f"{where}.x-multiline", "A boolean: true shows a multi-line text area.")
    if "enum" in spec:
        choices = spec["enum"]
        if field_type == "boolean":
            errors.add(f"{where}.enum", "A boolean field is a check box; it has no choices.")
        elif not isinstance(choices, list) or not 1 <= len(choices) <= MAX_ENUM:
            errors.add(f"{where}.enum", f"A list of 1 to {MAX_ENUM} choices.")
        else:
            for j, choice in enumerate(choices):
                if not _type_matches(field_type, choice):
                    errors.add(f"{where}.enum[{j}]", f"Each choice is a {field_type}.")
            if len({repr(c) for c in choices}) != len(choices):
                errors.add(f"{where}.enum", "The choices must be distinct.")


def _check_form(errors: Errors, path: str, form: Any) -> bool:
    """The form: an object schema of renderable fields; True when it is sound (so a default can be checked)."""
    before = len(errors.items)
    if not isinstance(form, dict):
        errors.add(path, 'Required: a JSON Schema {"type": "object", "properties": {…}, "required": […]}.')
        return False
    if json_size(form) > MAX_FORM_BYTES:
        errors.add(path, f"At most {MAX_FORM_BYTES} bytes of JSON.")
        return False
    unknown_fields(errors, path, form, FORM_KEYS, "an INPUT form")
    if form.get("type") != "object":
        errors.add(f"{path}.type", 'Must be "object" (the form\'s fields are its properties).')
    properties = form.get("properties")
    if not isinstance(properties, dict) or not 1 <= len(properties) <= MAX_FIELDS:
        errors.add(f"{path}.properties", f"Required: an object of 1 to {MAX_FIELDS} fields.")
        return False
    for name, spec in properties.items():
        _check_field(errors, f"{path}.properties.{name}", str(name), spec)
    required = form.get("required", [])
    if not isinstance(required, list):
        errors.add(f"{path}.required", "A list of field names.")
    else:
        for j, name in enumerate(required):
            if not isinstance(name, str) or name not in properties:
                errors.add(f"{path}.required[{j}]", f"{name!r} is not a field of the form.")
        if len(set(map(str, required))) != len(required):
            errors.add(f"{path}.required", "Each field is listed once.")
    for text, limit in (("title", 200), ("description", 2000)):
        if text in form and (not isinstance(form[text], str) or len(form[text]) > limit):
            errors.add(f"{path}.{text}", f"A string of at most {limit} characters.")
    if len(errors.items) != before:
        return False
    try:  # the last word: what jsonschema itself thinks of the schema
        Draft202012Validator.check_schema(form)
    except SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        errors.add(f"{path}.{where}" if where else path, exc.message)
        return False
    for name, spec in properties.items():
        if "default" in spec:
            for field, message in value_errors(form, {name: spec["default"]}, prefix=f"{path}.properties", only=name):
                errors.add(f"{field}.default", message)
    return len(errors.items) == before


def field_order(config: Mapping[str, Any]) -> list[str]:
    """The form's field names in the order the definition wrote them (then any others, sorted)."""
    properties = (config.get("form") or {}).get("properties") or {}
    written = [name for name in config.get("field_order") or [] if name in properties]
    return written + sorted(name for name in properties if name not in written)


def value_errors(
    form: Mapping[str, Any], values: Any, *, prefix: str = "values", only: str | None = None
) -> list[tuple[str, str]]:
    """Problems of submitted ``values`` against ``form``, each ``(field path, message)`` naming the field
    (``values.amount``): a JSON object, every required field present (unless ``only`` checks one field), no field
    the form does not have, each value valid for its field. Empty when they are acceptable."""
    if not isinstance(values, dict):
        return [(prefix, "Must be a JSON object of the form's fields.")]
    if json_size(values) > MAX_VALUES_BYTES:
        return [(prefix, f"At most {MAX_VALUES_BYTES} bytes of JSON.")]
    properties: Mapping[str, Any] = form.get("properties") or {}
    problems: list[tuple[str, str]] = []
    for name in values:
        if name not in properties:
            problems.append((f"{prefix}.{name}", f"Unknown field; the form has: {', '.join(sorted(properties))}."))
    if only is None:
        for name in form.get("required") or []:
            if name not in values:
                problems.append((f"{prefix}.{name}", "Required."))
    for name, value in values.items():
        spec = properties.get(name)
        if not isinstance(spec, dict):
            continue
        for error in Draft202012Validator(spec).iter_errors(value):
            problems.append((f"{prefix}.{name}", _message(spec, error)))
    return sorted(problems)


def _message(spec: Mapping[str, Any], error: Any) -> str:
    """A reader-friendly message for the common failures (jsonschema's for the rest)."""
    kind = error.validator
    if kind == "type":
        return {"string": "Enter text.", "number": "Enter a number.", "integer": "Enter a whole number."}.get(
            str(spec.get("type")), "Choose yes or no."
        )
    if kind == "enum":
        return "Choose one of: " + ", ".join(str(c) for c in spec.get("enum", [])) + "."
    if kind == "minLength":
        return "Required." if spec.get("minLength") == 1 else f"At least {spec['minLength']} characters."
    if kind == "maxLength":
        return f"At most {spec['maxLength']} characters."
    if kind == "minimum":
        return f"At least {spec['minimum']}."
    if kind == "maximum":
        return f"At most {spec['maximum']}."
    return str(error.message)


def validate(check: Check, raw: dict[str, Any], config: dict[str, Any]) -> None:
    """``form`` (required), ``prompt`` (required), ``assignees.groups``, ``due_in_minutes`` (1 … MAX_WAIT_DAYS; default
    a day) and ``default`` (values valid for the form, taken when nobody submits in time)."""
    errors, path = check.errors, check.path
    form = raw.get("form")
    form_ok = _check_form(errors, f"{path}.form", form)
    config["form"] = form
    # The fields in the order written: a JSON object's key order does not survive PostgreSQL's jsonb.
    config["field_order"] = list(form["properties"]) if form_ok and isinstance(form, dict) else []
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
        errors.add(f"{path}.prompt", f"Required: what to ask, at most {MAX_PROMPT_CHARS} characters.")
    config["prompt"] = prompt
    assignees = raw.get("assignees", {})
    groups: list[str] = []
    if assignees is None:
        assignees = {}
    if not isinstance(assignees, dict):
        errors.add(f"{path}.assignees", 'Must be {"groups": ["<group name>", …]}.')
    else:
        unknown_fields(errors, f"{path}.assignees", assignees, ("groups",), "assignees")
        raw_groups = assignees.get("groups", [])
        if not isinstance(raw_groups, list) or len(raw_groups) > MAX_GROUPS:
            errors.add(f"{path}.assignees.groups", f"A list of at most {MAX_GROUPS} group names.")
        else:
            for j, group in enumerate(raw_groups):
                if not isinstance(group, str) or not 1 <= len(group) <= 150:
                    errors.add(f"{path}.assignees.groups[{j}]", "A group name (1 to 150 characters).")
                elif group not in groups:
                    groups.append(group)
    config["assignees"] = {"groups": groups}
    due = raw.get("due_in_minutes", DEFAULT_DUE_MINUTES)
    limit = max_wait()  # as far ahead as a WAIT may end (MAX_WAIT_DAYS)
    most = int(limit.total_seconds() // 60)
    if isinstance(due, bool) or not isinstance(due, int) or not 1 <= due <= most:
        errors.add(
            f"{path}.due_in_minutes",
            f"A whole number of minutes between 1 and {most} ({limit.days} days, MAX_WAIT_DAYS).",
        )
    config["due_in_minutes"] = due
    if "default" in raw:
        default = raw["default"]
        if form_ok and isinstance(form, dict):
            for field, message in value_errors(form, default, prefix=f"{path}.default"):
                errors.add(field, message)
        config["default"] = default


def claim(claimed: Claimed) -> ClaimOutcome:
    """READY: wait for the input until the due time (a timer in the database), announcing ``input.requested``.
    WAITING (the due time passed with no input): COMPLETED with the ``default`` when declared, else FAILED with
    ``input_expired``; announcing ``input.expired``."""
    config, now = claimed.config, claimed.now
    if claimed.status == "WAITING":
        due = (claimed.not_before or now).isoformat()
        if "default" in config:
            return Finish(config["default"], announce=Announce("input.expired", {"due_at": due, "outcome": "default"}))
        return Fail(
            f"{EXPIRED}: nobody submitted the form before {due}",
            announce=Announce("input.expired", {"due_at": due, "outcome": "failed"}),
        )
    due_at = now + timedelta(minutes=int(config.get("due_in_minutes", DEFAULT_DUE_MINUTES)))
    groups = list((config.get("assignees") or {}).get("groups", []))
    data = {"prompt": config.get("prompt", ""), "groups": groups, "due_at": due_at.isoformat()}
    return WaitUntil(due_at, announce=Announce("input.requested", data))


KIND = NodeKind(
    name=NAME,
    fields=frozenset({"form", "prompt", "assignees", "due_in_minutes", "default"}),
    validate=validate,
    example={
        "form": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        "prompt": "Proceed?",
    },
    claim=claim,
    docs={
        "form": FieldDoc(
            "object",
            "a JSON Schema object whose properties are string (x-multiline: a text area), number, integer, "
            "boolean or enum fields",
        ),
        "prompt": FieldDoc("string", "what the person is asked"),
        "assignees": FieldDoc("object", '{"groups": [...]}: who may submit (none: any reviewer of the tenant)'),
        "due_in_minutes": FieldDoc(
            "number", "minutes to wait for the input (default 1440; at most MAX_WAIT_DAYS) before input_expired"
        ),
        "default": FieldDoc("object", "values taken when nobody submits in time (instead of failing)"),
    },
)
