"""``POST /api/v1/integrations/slack/interactions``: Slack's interactivity request URL (issue 20). Thin: verify the
signature (401 problem when forged or older than five minutes), parse, hand to ``approvals.slack_interactions``."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orchestrator.lib.problems import problem_response

from .. import slack, slack_interactions


@csrf_exempt  # Slack cannot send a CSRF token; the request is authenticated by its signature instead
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    body = request.body
    if not slack.signature_valid(body, request.headers):
        return problem_response(
            status=401,
            code="invalid_slack_signature",
            title="Invalid Slack signature",
            detail="The request is not signed with this app's signing secret, or it is older than five minutes.",
        )
    raw = parse_qs(body.decode("utf-8", "replace")).get("payload", [""])[0]
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return problem_response(
            status=400, code="bad_request", title="Bad request", detail="Expected a form field 'payload' with JSON."
        )
    text = slack_interactions.handle(payload)
    # Shown only to the presser; the channel message itself is updated by the handler.
    return JsonResponse({"response_type": "ephemeral", "replace_original": False, "text": text} if text else {})
