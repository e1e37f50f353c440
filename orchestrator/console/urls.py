from __future__ import annotations

from importlib.util import find_spec

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from . import inputs, stepup, views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="console:login"), name="logout"),
    path("step-up/", stepup.step_up, name="step_up"),
    path("profile/", views.profile, name="profile"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run"),
    # Issue 19: INPUT steps waiting for a person's values.
    path("inputs/", inputs.input_list, name="inputs"),
    path("runs/<uuid:run_id>/inputs/<str:key>/", inputs.input_form, name="input"),
]
if find_spec("approvals.urls") is not None:
    urlpatterns.append(path("", include("approvals.urls")))
else:
    urlpatterns += [path("", views.run_list, name="home"), path("history/", views.run_list, name="history")]
