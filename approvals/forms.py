"""Console forms for deciding approvals. Validation mirrors the service (which checks again)."""

from __future__ import annotations

from django import forms

from .models import ApprovalStatus, RiskLevel
from .services import MAX_REASON_CHARS


class ApproveForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=MAX_REASON_CHARS,
        strip=True,
        label="Why you approve (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        required=True,
        max_length=MAX_REASON_CHARS,
        strip=True,
        label="Why you reject (required)",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why you reject this action: the requester and the audit trail need it."},
    )


class QueueFilterForm(forms.Form):
    """Filters of the pending queue and the history (all optional; bad values are ignored)."""

    q = forms.CharField(required=False, label="Search", max_length=200)
    risk_level = forms.ChoiceField(required=False, label="Risk", choices=[("", "Any"), *RiskLevel.choices])
    tool = forms.CharField(required=False, label="Tool", max_length=100)
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Any"), *[(s, s.title()) for s in ApprovalStatus.values if s != ApprovalStatus.PENDING]],
    )
