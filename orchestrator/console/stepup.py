"""The console's step-up page: confirm who you are (password, or a TOTP code when enrolled), then go back.

Deciding HIGH and CRITICAL approvals needs a recent authentication (``approvals.authority``). When the decide
service refuses with ``step_up_required`` the console (and the admin) send the person here with ``next`` set to the
page they came from; on success the session records the time and the method and the person returns there.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters

from orchestrator.lib import stepup


def step_up_url(next_url: str) -> str:
    """Where to send a person who must step up before coming back to ``next_url``."""
    from urllib.parse import urlencode

    return f"{reverse('console:step_up')}?{urlencode({'next': next_url})}"


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("console:home")


@sensitive_post_parameters("secret")
@login_required
def step_up(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: check the answer; success records it on the session and redirects to ``next``."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    error = ""
    if request.method == "POST":
        method = stepup.verify(request, request.user, str(request.POST.get("secret", "")))
        if method is not None:
            stepup.record_authentication(request.session, method)
            return redirect(next_url)
        error = "That did not match. Try again (repeated failures lock the account for a while)."
    context = {
        "next": next_url,
        "error": error,
        "uses_totp": stepup.totp_device(request.user) is not None,
        "max_age_minutes": max(1, settings.STEP_UP_MAX_AGE_SECONDS // 60),
    }
    return render(request, "registration/step_up.html", context, status=400 if error else 200)
