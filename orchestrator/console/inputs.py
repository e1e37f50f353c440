"""Console pages for INPUT steps (issue 19): the inputs waiting for me, and one step's form rendered from its JSON
Schema. Thin: ``orchestrator.selectors`` to read, ``orchestrator.inputs.submit_input`` (the API's service) to submit.

The browser sends text; ``values_from_post`` turns it into the JSON the form describes (a check box is true or
false, an empty box is no value), and the service judges the values exactly as it does for the API, so an error is
shown next to its field whichever side found it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from orchestrator import inputs, selectors
from orchestrator.lib.auth import Caller, caller_for_user
from orchestrator.lib.errors import DomainError, NotFoundError
from orchestrator.models import NodeStatus, WorkflowNode
from orchestrator.nodes.human_input import field_order
from orchestrator.profiles import time_zone_for

# Up to this many choices are radio buttons (all visible at once); more are a drop-down list.
MAX_RADIO_CHOICES = 5
MAX_LISTED = 200
WHOLE = re.compile(r"[+-]?\d{1,15}")


@dataclass
class Field:
    """One form field as the template draws it."""

    name: str
    label: str
    kind: str  # text | textarea | number | checkbox | radio | select
    required: bool
    description: str = ""
    value: str = ""
    checked: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value as sent, label)
    step: str = "any"
    minimum: Any = None
    maximum: Any = None
    max_length: Any = None
    error: str = ""

    @property
    def id(self) -> str:
        return f"field-{self.name}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_fields(config: dict[str, Any], values: dict[str, Any], errors: dict[str, str]) -> list[Field]:
    """The fields of the node's form in their declared order, showing ``values`` (what was typed, else each
    field's default) and ``errors`` (field name → message)."""
    form = config.get("form") or {}
    required = set(form.get("required") or [])
    out: list[Field] = []
    for name in field_order(config):
        spec = form["properties"][name]
        kind_of = spec.get("type")
        value = values.get(name, spec.get("default"))
        item = Field(
            name=name,
            label=str(spec.get("title") or name.replace("_", " ").capitalize()),
            kind="text",
            required=name in required,
            description=str(spec.get("description") or ""),
            value=_text(value),
            error=errors.get(name, ""),
        )
        if "enum" in spec:
            item.kind = "radio" if len(spec["enum"]) <= MAX_RADIO_CHOICES else "select"
            item.choices = [(_text(c), _text(c)) for c in spec["enum"]]
        elif kind_of == "boolean":
            item.kind, item.checked = "checkbox", value is True or value == "true"  # a default, or as posted
        elif kind_of in ("number", "integer"):
            item.kind, item.step = "number", "1" if kind_of == "integer" else "any"
            item.minimum, item.maximum = spec.get("minimum"), spec.get("maximum")
        elif spec.get("x-multiline"):
            item.kind, item.max_length = "textarea", spec.get("maxLength")
        else:
            item.max_length = spec.get("maxLength")
        out.append(item)
    return out


def values_from_post(form: dict[str, Any], post: QueryDict) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """``(values, typed, errors)``: the JSON values of the posted fields, the text as typed (to show again) and
    the fields whose text is not of their type. An empty box or no choice is no value (a required field then says
    so); an unticked check box is false."""
    values: dict[str, Any] = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, spec in (form.get("properties") or {}).items():
        kind_of = spec.get("type")
        if kind_of == "boolean":
            values[name] = post.get(name) == "true"
            typed[name] = "true" if values[name] else "false"
            continue
        raw = post.get(name, "")
        raw = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
        typed[name] = raw
        if raw == "" or (kind_of != "string" and not raw.strip()):
            continue
        if "enum" in spec:
            matches = [c for c in spec["enum"] if _text(c) == raw]
            if matches:
                values[name] = matches[0]
            else:
                errors[name] = "Choose one of the listed options."
        elif kind_of in ("number", "integer"):
            text = raw.strip()
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or (kind_of == "integer" and not number.is_integer()):
                errors[name] = "Enter a whole number." if kind_of == "integer" else "Enter a number."
            elif kind_of == "integer" or WHOLE.fullmatch(text):
                values[name] = int(number)  # "12" is 12, as a client would send it; "12.5" stays a float
            else:
                values[name] = number
        else:
            values[name] = raw
    return values, typed, errors


def _answers(fields: list[Field], output: Any) -> list[tuple[str, str]]:
    """What was submitted (or taken as the default), field by field, for a completed step."""
    if not isinstance(output, dict):
        return []
    return [
        (f.label, ("Yes" if output[f.name] else "No") if isinstance(output[f.name], bool) else _text(output[f.name]))
        for f in fields
        if f.name in output
    ]


def _node_or_404(caller: Caller, run_id: Any, key: str) -> WorkflowNode:
    try:
        return selectors.get_input_node_for(caller, run_id, key)
    except NotFoundError as exc:
        raise Http404(exc.detail) from exc


def _render(
    request: HttpRequest,
    caller: Caller,
    node: WorkflowNode,
    *,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    config = node.config or {}
    denied = inputs.refusal(caller, node) if node.status == NodeStatus.WAITING else None
    overdue = inputs.is_overdue(node, timezone.now())
    errors = errors or {}
    fields = form_fields(config, typed or {}, errors)
    context = {
        "node": node,
        "run": node.run,
        "prompt": config.get("prompt", ""),
        "form_title": (config.get("form") or {}).get("title", ""),
        "form_description": (config.get("form") or {}).get("description", ""),
        "groups": inputs.groups_of(node),
        "fields": fields,
        "error_count": sum(1 for f in fields if f.error),
        "waiting": node.status == NodeStatus.WAITING and not overdue,
        "overdue": overdue,
        "denied": denied.detail if denied is not None else "",
        "has_default": "default" in config,
        "answers": _answers(fields, node.output),
        "run_url": reverse("console:run", args=[node.run_id]),
        "reviewer_tz": time_zone_for(request.user),
        "nav": "inputs",
    }
    return render(request, "console/input_form.html", context, status=status)


@login_required
def input_list(request: HttpRequest) -> HttpResponse:
    """INPUT steps waiting for values that this person may submit, soonest due first."""
    caller = caller_for_user(request.user, request.session)
    # Whether the caller may answer depends only on the run's tenant and the step's groups: ask once per pair, not
    # once per listed step (each ask with groups is a membership query).
    allowed: dict[tuple[Any, tuple[str, ...]], bool] = {}
    rows = []
    for node in selectors.waiting_inputs_for(caller)[:MAX_LISTED]:
        key = (node.run.tenant_id, tuple(inputs.groups_of(node)))
        if key not in allowed:
            allowed[key] = inputs.refusal(caller, node) is None
        if allowed[key]:
            rows.append(node)
    context = {"rows": rows, "now": timezone.now(), "reviewer_tz": time_zone_for(request.user), "nav": "inputs"}
    return render(request, "console/input_list.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def input_form(request: HttpRequest, run_id: Any, key: str) -> HttpResponse:
    """GET: the step's prompt and form (or what was submitted). POST: submit through ``inputs.submit_input``;
    wrong values come back next to their fields (400), a refusal (403/409) as a message on the page."""
    caller = caller_for_user(request.user, request.session)
    node = _node_or_404(caller, run_id, key)
    if request.method != "POST":
        return _render(request, caller, node)
    form = (node.config or {}).get("form") or {}
    values, typed, errors = values_from_post(form, request.POST)
    if errors:
        return _render(request, caller, node, typed=typed, errors=errors, status=400)
    try:
        inputs.submit_input(caller=caller, node=node, values=values)
    except inputs.InvalidValues as exc:
        by_field: dict[str, str] = {}
        for problem in exc.errors:
            by_field.setdefault(problem["field"].removeprefix("values."), problem["message"])
        return _render(request, caller, node, typed=typed, errors=by_field, status=400)
    except DomainError as exc:
        messages.error(request, f"Your input was not recorded: {exc.detail}")
        return redirect("console:input", run_id=node.run_id, key=node.key)
    messages.success(request, f"Thank you: your input for step {node.key} is recorded and the workflow continues.")
    return redirect(f"{reverse('console:run', args=[node.run_id])}#node-{node.key}")
