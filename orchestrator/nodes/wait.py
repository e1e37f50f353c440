"""WAIT: completes after ``{"seconds": n}`` or at ``{"until": "<ISO 8601>"}`` (a timer kept in the database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestrator.lib.bounds import max_wait

from .base import Check, Claimed, ClaimOutcome, FieldDoc, Finish, NodeKind, WaitUntil, is_number


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a timezone (``Z`` accepted), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def validate(check: Check, raw: dict[str, Any], config: dict[str, Any]) -> None:
    """``wait``: exactly one of ``seconds`` (0 … ``MAX_WAIT_DAYS`` in seconds) or ``until`` (stored normalised)."""
    errors, path = check.errors, check.path
    wait = raw.get("wait")
    if not isinstance(wait, dict) or len(wait) != 1 or not ({"seconds", "until"} & set(wait)):
        errors.add(f"{path}.wait", 'Required: {"seconds": n} or {"until": "<ISO 8601 timestamp>"}.')
    elif "seconds" in wait:
        seconds = wait["seconds"]
        limit = max_wait()
        if not is_number(seconds) or not 0 <= seconds <= limit.total_seconds():
            errors.add(
                f"{path}.wait.seconds",
                f"A number of seconds between 0 and {int(limit.total_seconds())} ({limit.days} days, MAX_WAIT_DAYS).",
            )
        config["wait"] = {"seconds": seconds}
    else:
        until = parse_timestamp(wait["until"])
        if until is None:
            errors.add(f"{path}.wait.until", "An ISO 8601 timestamp with a timezone, e.g. 2030-01-01T00:00:00Z.")
        else:
            config["wait"] = {"until": until.isoformat()}


def claim(claimed: Claimed) -> ClaimOutcome:
    """READY: start the timer (or complete at once when it is already due). WAITING (the timer is due): complete.
    The timer lives in the database (``not_before``), so it survives restarts; no worker sleeps on it."""
    now = claimed.now
    if claimed.status == "WAITING":
        return Finish({"waited_until": (claimed.not_before or now).isoformat()})
    wait = claimed.config.get("wait", {})
    if "until" in wait:
        due = parse_timestamp(wait["until"]) or now
    else:
        due = now + timedelta(seconds=float(wait.get("seconds", 0)))
    if due <= now:
        return Finish({"waited_until": due.isoformat()})
    return WaitUntil(due)


KIND = NodeKind(
    name="WAIT",
    fields=frozenset({"wait"}),
    validate=validate,
    example={"wait": {"seconds": 0}},
    claim=claim,
    docs={
        "wait": FieldDoc(
            "object",
            '{"seconds": n} or {"until": ISO 8601 with a timezone}, at most MAX_WAIT_DAYS (default 366) ahead',
        )
    },
)
