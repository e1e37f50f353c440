"""The Helm chart: lint, render, Kubernetes schemas, safety properties, and every setting settable from values."""

from __future__ import annotations

import base64
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.chart_tools import (
    CHART,
    RENDER_SECRETS,
    ROOT,
    Rendered,
    containers,
    discover_env_reads,
    env_reads_in_source,
    helm,
    render,
    set_args,
)

# The settings table of SPEC §10 (the contract): each must be an explicit, commented key in values.yaml.
SPEC_SETTINGS = [
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "DATA_DIR",
    "EXECUTOR_BACKEND",
    "TASK_CONTROLLER_URL",
    "INTERNAL_SERVICE_TOKEN",
    "SCHEDULER_ENABLED",
    "SCHEDULER_BATCH_SIZE",
    "HIGH_RISK_APPROVAL_EXPIRY_MINUTES",
    "APPROVAL_VALIDITY_MINUTES",
    "IDEMPOTENCY_TTL_HOURS",
    "WEBHOOK_TIMEOUT_MS",
    "WEBHOOK_SECRET_GRACE_HOURS",
    "WEBHOOK_DISABLE_AFTER_HOURS",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
    "AUDIT_LOG_RETENTION_DAYS",
    "METRICS_TOKEN",
    "CONSOLE_BASE_URL",
]
# Must come from the Secret (issue 9), never from the ConfigMap.
SECRET_SETTINGS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "INTERNAL_SERVICE_TOKEN",
    "METRICS_TOKEN",
    "AUDIT_CHAIN_KEY",
    "AUDIT_CHAIN_PREVIOUS_KEYS",
}
# URLs that may carry credentials also belong in the Secret.
CREDENTIAL_URLS = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
# Values the chart validates (the schema or the templates), used when proving a variable is settable.
SAMPLE_VALUES = {
    "DATA_DIR": "/srv/data",
    "PROMETHEUS_MULTIPROC_DIR": "/srv/metrics",
    "PRODUCTION": "false",
    "DEBUG": "true",
    "LOG_LEVEL": "WARNING",
    "EXECUTOR_BACKEND": "task_controller",
    "SECRET_KEY": "settable-" + "s" * 50,
    "DATABASE_URL": "postgres://settable:pw@db.internal:5432/settable",
    "REDIS_URL": "redis://settable.internal:6379/3",
}
PRODUCTION_VALUES = ["values-production.yaml"]
# Every optional feature on, so the schemas see every template.
ALL_FEATURES = {
    "ingress.enabled": "true",
    "metrics.serviceMonitor.enabled": "true",
    "metrics.serviceMonitor.bearerTokenFromSecret": "true",
    "web.autoscaling.enabled": "true",
    "worker.autoscaling.enabled": "true",
}


def values_yaml() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def pod_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def decode_secret(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()}


@pytest.fixture(scope="module")
def default(helm_bin: str) -> Rendered:
    rendered = render(helm_bin)
    assert rendered.returncode == 0, rendered.stderr
    return rendered


@pytest.fixture(scope="module")
def production(helm_bin: str) -> Rendered:
    rendered = render(helm_bin, values_files=PRODUCTION_VALUES, with_secrets=False)
    assert rendered.returncode == 0, rendered.stderr
    return rendered


@pytest.fixture(scope="module")
def everything(helm_bin: str) -> Rendered:
    rendered = render(helm_bin, sets={"secrets.METRICS_TOKEN": "m" * 32}, extra=set_args(ALL_FEATURES, string=False))
    assert rendered.returncode == 0, rendered.stderr
    return rendered


# --- lint and schemas -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("values_files", [[], PRODUCTION_VALUES], ids=["default", "production"])
def test_chart_lints_cleanly_with_default_and_production_values(helm_bin: str, values_files: list[str]) -> None:
    args = ["lint", str(CHART), "--strict"]
    for values_file in values_files:
        args += ["-f", str(CHART / values_file)]
    if not values_files:
        args += set_args(RENDER_SECRETS)  # the secrets the chart requires
    result = helm(helm_bin, *args)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("fixture", ["default", "production", "everything"])
@pytest.mark.parametrize("kube_version", ["1.25.0", "1.37.0"])
def test_rendered_manifests_validate_against_kubernetes_schemas(
    request: pytest.FixtureRequest, fixture: str, kube_version: str
) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    from kubernetes_validate.utils import SchemaNotFoundError

    rendered: Rendered = request.getfixturevalue(fixture)
    checked = 0
    for doc in rendered.docs:
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
            checked += 1
        except SchemaNotFoundError:
            # CRDs (ServiceMonitor) have no upstream schema: checked by shape in test_service_monitors_*.
            assert doc["apiVersion"] == "monitoring.coreos.com/v1", doc["kind"]
    assert checked >= 10


def test_broken_value_is_rejected_by_the_values_schema(helm_bin: str) -> None:
    rendered = render(helm_bin, extra=["--set", "web.replicas=notanumber"])
    assert rendered.returncode != 0
    assert "/web/replicas" in rendered.stderr
    lint = helm(helm_bin, "lint", str(CHART), "--set", "web.replicas=notanumber", *set_args(RENDER_SECRETS))
    assert lint.returncode != 0


def test_broken_manifest_is_rejected_by_kubernetes_validate_when_the_schema_is_bypassed(helm_bin: str) -> None:
    """The second line of defence: even with values.schema.json skipped, the rendered Deployment is invalid."""
    rendered = render(helm_bin, extra=["--set", "web.replicas=notanumber", "--skip-schema-validation"])
    assert rendered.returncode == 0, rendered.stderr
    validate = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "kubernetes-validate"), "--strict", "--quiet", "-"],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    if validate.returncode == 127 or "No such file" in validate.stderr:
        pytest.skip("kubernetes-validate is not installed in .venv")
    assert validate.returncode != 0
    assert "spec.replicas" in validate.stdout + validate.stderr


def test_a_second_beat_replica_cannot_be_configured(helm_bin: str) -> None:
    rendered = render(helm_bin, extra=["--set", "beat.replicas=2"])
    assert rendered.returncode != 0
    assert "replicas" in rendered.stderr


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"secrets.SECRET_KEY": ""}, "secrets.SECRET_KEY is required"),
        ({"secrets.DATABASE_URL": ""}, "secrets.DATABASE_URL is required"),
        ({"secrets.REDIS_URL": ""}, "secrets.REDIS_URL is required"),
        ({"secrets.DATABASE_URL": "sqlite:////data/db.sqlite3"}, "SQLite cannot be shared"),
        ({"secrets.SECRET_KEY": "short"}, "at least 50 characters"),
    ],
)
def test_render_fails_with_a_clear_message_when_a_required_secret_is_missing(
    helm_bin: str, sets: dict[str, str], message: str
) -> None:
    rendered = render(helm_bin, sets=sets)
    assert rendered.returncode != 0
    assert message in rendered.stderr


def test_existing_secret_replaces_the_chart_secret(helm_bin: str) -> None:
    rendered = render(helm_bin, with_secrets=False, sets={"existingSecret": "ops-managed"})
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.all("Secret") == []
    for _, container in containers(rendered):
        refs = [ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref]
        if container["name"] != "metrics":
            assert refs == ["ops-managed"], container["name"]


# --- workloads --------------------------------------------------------------------------------------------------


def test_web_worker_and_beat_run_the_documented_commands(default: Rendered) -> None:
    web = default.find("Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["command"][:2] == ["gunicorn", "orchestrator.wsgi:application"]
    assert "--config=python:orchestrator.gunicorn_conf" in web["command"]
    worker = default.find("Deployment", "-worker")["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"][:3] == ["celery", "--app=orchestrator", "worker"]
    assert "--queues=default,scheduler,executor,webhooks,maintenance" in worker["command"]
    beat = default.find("Deployment", "-beat")["spec"]["template"]["spec"]["containers"][0]
    assert beat["command"][:3] == ["celery", "--app=orchestrator", "beat"]
    assert "--schedule=/tmp/celerybeat-schedule" in beat["command"]


def test_beat_is_a_single_replica_that_is_never_doubled_during_a_rollout(production: Rendered) -> None:
    beat = production.find("Deployment", "-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    hpa_targets = {h["spec"]["scaleTargetRef"]["name"] for h in production.all("HorizontalPodAutoscaler")}
    assert beat["metadata"]["name"] not in hpa_targets
    pdb_names = {p["metadata"]["name"] for p in production.all("PodDisruptionBudget")}
    assert beat["metadata"]["name"] not in pdb_names


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(default: Rendered) -> None:
    job = default.find("Job", "-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # The release's ConfigMap and Secret do not exist yet in a pre-install hook: the Job must not need them.
    hook_secret = default.find("Secret", "-migrate")
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    assert container["envFrom"] == [{"secretRef": {"name": hook_secret["metadata"]["name"]}}]
    configmap = default.find("ConfigMap", "orch-bytebot-workflow-orchestrator")["data"]
    job_env = {item["name"]: item.get("value") for item in container["env"]}
    assert {k: job_env.get(k) for k in configmap} == configmap


def test_web_probes_use_the_health_endpoints(default: Rendered) -> None:
    web = default.find("Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live"
    assert web["startupProbe"]["httpGet"]["path"] == "/api/v1/health/live"
    assert web["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    worker = default.find("Deployment", "-worker")["spec"]["template"]["spec"]["containers"][0]
    assert "inspect ping" in " ".join(worker["livenessProbe"]["exec"]["command"])


def test_pod_ip_is_an_allowed_host_so_probes_and_scrapes_are_not_refused(default: Rendered) -> None:
    for _, container in containers(default):
        if container["name"] in ("web", "worker", "beat"):
            env = pod_env(container)
            assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
            hosts = env["ALLOWED_HOSTS"]["value"].split(",")
            assert hosts[0] == "$(POD_IP)"
            assert "orch-bytebot-workflow-orchestrator.orchestrator.svc.cluster.local" in hosts


def test_every_container_is_non_root_with_a_read_only_root_and_writable_scratch_dirs(everything: Rendered) -> None:
    configmap = everything.find("ConfigMap", "orch-bytebot-workflow-orchestrator")["data"]
    for workload, container in containers(everything):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, container["name"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        if container["name"] == "metrics":
            continue
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        for path in ("/tmp", configmap["DATA_DIR"], configmap["PROMETHEUS_MULTIPROC_DIR"]):
            assert path in mounts, (container["name"], path)
            assert "emptyDir" in volumes[mounts[path]]


def test_pod_templates_roll_when_config_or_secret_change(helm_bin: str, default: Rendered) -> None:
    changed = render(helm_bin, sets={"config.LOG_LEVEL": "DEBUG", "secrets.METRICS_TOKEN": "t" * 20})
    for suffix in ("-web", "-worker", "-beat"):
        before = default.find("Deployment", suffix)["spec"]["template"]["metadata"]["annotations"]
        after = changed.find("Deployment", suffix)["spec"]["template"]["metadata"]["annotations"]
        assert before["checksum/config"] != after["checksum/config"]
        assert before["checksum/secret"] != after["checksum/secret"]


def test_production_values_scale_web_and_worker_with_autoscalers_and_disruption_budgets(
    production: Rendered,
) -> None:
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in production.all("HorizontalPodAutoscaler")}
    web = production.find("Deployment", "-web")
    worker = production.find("Deployment", "-worker")
    assert set(hpas) == {web["metadata"]["name"], worker["metadata"]["name"]}
    assert "replicas" not in web["spec"] and "replicas" not in worker["spec"]  # the HPA owns the count
    assert all(spec["minReplicas"] >= 2 for spec in hpas.values())
    pdbs = {p["metadata"]["name"]: p["spec"] for p in production.all("PodDisruptionBudget")}
    assert set(pdbs) == {web["metadata"]["name"], worker["metadata"]["name"]}
    ingress = production.find("Ingress")
    assert ingress["spec"]["tls"]


def test_service_monitors_scrape_web_metrics_and_worker_sidecars(everything: Rendered) -> None:
    monitors = {m["metadata"]["name"]: m for m in everything.all("ServiceMonitor")}
    web = monitors["orch-bytebot-workflow-orchestrator-web"]["spec"]
    assert web["endpoints"][0]["path"] == "/api/v1/metrics"
    assert web["endpoints"][0]["authorization"]["credentials"]["key"] == "METRICS_TOKEN"
    worker = monitors["orch-bytebot-workflow-orchestrator-worker"]["spec"]
    # Every ServiceMonitor selects a Service that exposes the named port.
    services = everything.all("Service")
    for spec in (web, worker):
        port = spec["endpoints"][0]["port"]
        selected = [
            s
            for s in services
            if spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
            and port in {p["name"] for p in s["spec"]["ports"]}
        ]
        assert selected, port
    sidecar = next(c for _, c in containers(everything) if c["name"] == "metrics")
    assert sidecar["command"] == ["python", "/etc/orchestrator/metrics_exporter.py"]


def test_the_worker_metrics_exporter_script_is_valid_python() -> None:
    source = (CHART / "files" / "metrics_exporter.py").read_text()
    compile(source, "metrics_exporter.py", "exec")


# --- settings ----------------------------------------------------------------------------------------------------


def test_discovery_finds_env_helper_and_os_environ_reads() -> None:
    source = (
        "import os\nfrom orchestrator.lib.env import env\nNAME = 'FROM_CONST'\n"
        "A = env.int('SOME_INT', 3, minimum=1)\nB = env.secret('SOME_TOKEN')\n"
        "C = os.environ.get('FROM_GET')\nD = os.environ['FROM_INDEX']\nE = os.getenv(NAME)\n"
    )
    reads = {r.name: r.secret for r in env_reads_in_source(source, "x.py")}
    assert reads == {"SOME_INT": False, "SOME_TOKEN": True, "FROM_GET": False, "FROM_INDEX": False, "FROM_CONST": False}


def test_discovery_sees_the_settings_module() -> None:
    reads = discover_env_reads()
    assert {"SECRET_KEY", "DATABASE_URL", "SCHEDULER_BATCH_SIZE", "PROMETHEUS_MULTIPROC_DIR"} <= set(reads)
    assert reads["SECRET_KEY"].secret


def test_every_variable_the_code_reads_is_settable_from_the_chart_values(helm_bin: str) -> None:
    """Discovered, not listed: settings other engineers add are covered as soon as the code reads them."""
    reads = discover_env_reads()
    documented_secrets = set(values_yaml()["secrets"])
    as_secret = {
        name for name, read in reads.items() if read.secret or name in CREDENTIAL_URLS or name in documented_secrets
    }
    as_config = set(reads) - as_secret
    wanted_config = {name: SAMPLE_VALUES.get(name, f"settable-{name.lower()}") for name in as_config}
    wanted_secret = {name: SAMPLE_VALUES.get(name, f"settable-{name.lower()}") for name in as_secret}
    sets = {f"config.{k}": v for k, v in wanted_config.items()} | {f"secrets.{k}": v for k, v in wanted_secret.items()}
    rendered = render(helm_bin, sets=sets)
    assert rendered.returncode == 0, rendered.stderr

    configmap = rendered.find("ConfigMap", "orch-bytebot-workflow-orchestrator")["data"]
    secret = decode_secret(rendered.find("Secret", "orch-bytebot-workflow-orchestrator"))
    web = rendered.find("Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    overridden = pod_env(web)
    not_settable = []
    for name, value in wanted_config.items():
        if name in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"):  # the chart adds its own entries to these lists
            ok = value in configmap.get(name, "").split(",")
            if name in overridden:
                ok = ok and value in overridden[name]["value"].split(",")
        else:
            ok = configmap.get(name) == value and name not in overridden
        if not ok:
            not_settable.append(f"config.{name} ({reads[name].where})")
    for name, value in wanted_secret.items():
        if secret.get(name) != value or name in overridden:
            not_settable.append(f"secrets.{name} ({reads[name].where})")
    assert not not_settable, f"not settable from values: {not_settable}"
    assert {"configMapRef": {"name": "orch-bytebot-workflow-orchestrator"}} in web["envFrom"]
    assert {"secretRef": {"name": "orch-bytebot-workflow-orchestrator"}} in web["envFrom"]


def test_every_spec_setting_is_an_explicit_commented_key_in_values_yaml() -> None:
    values = values_yaml()
    text_lines = (CHART / "values.yaml").read_text().splitlines()
    for name in SPEC_SETTINGS:
        section = "secrets" if name in SECRET_SETTINGS or name in CREDENTIAL_URLS else "config"
        assert name in values[section], f"{name} is not documented under {section}: in values.yaml"
        index = next(i for i, line in enumerate(text_lines) if line.strip().startswith(f"{name}:"))
        above = [line.strip() for line in text_lines[max(0, index - 4) : index]]
        assert any(line.startswith("#") for line in above), f"{name} has no comment above it in values.yaml"


def test_secrets_never_go_through_the_configmap() -> None:
    values = values_yaml()
    assert not SECRET_SETTINGS & set(values["config"])
    assert set(SECRET_SETTINGS) <= set(values["secrets"])


def test_every_key_documented_in_values_is_read_by_the_code() -> None:
    """Catches typos: a documented key nobody reads would silently do nothing."""
    reads = discover_env_reads()
    values = values_yaml()
    unknown = sorted((set(values["config"]) | set(values["secrets"])) - set(reads))
    assert not unknown, f"values.yaml documents variables the code does not read: {unknown}"


def test_production_values_need_no_secret_in_the_values_file() -> None:
    production = yaml.safe_load((CHART / "values-production.yaml").read_text())
    assert production["existingSecret"]
    assert not production.get("secrets")


def test_chart_readme_documents_install_upgrade_and_rollback() -> None:
    readme = (CHART / "README.md").read_text()
    for command in ("helm upgrade --install", "helm rollback", "helm history"):
        assert command in readme


def test_readme_deploying_section_says_images_are_not_built_here() -> None:
    doc = (ROOT / "README.md").read_text()
    assert "## Deploying" in doc
    assert "docker build" in doc and "no docker engine" in doc.lower()


def test_unquoted_numbers_and_booleans_in_config_render_as_plain_strings(helm_bin: str, tmp_path: Any) -> None:
    values = tmp_path / "numbers.yaml"
    values.write_text(
        "config:\n  SECURE_HSTS_SECONDS: 31536000\n  SCHEDULER_BATCH_SIZE: 20\n  SCHEDULER_ENABLED: false\n"
    )
    rendered = render(helm_bin, values_files=[str(values)])
    assert rendered.returncode == 0, rendered.stderr
    data = rendered.find("ConfigMap", "orch-bytebot-workflow-orchestrator")["data"]
    assert data["SECURE_HSTS_SECONDS"] == "31536000"  # not "3.1536e+07"
    assert data["SCHEDULER_BATCH_SIZE"] == "20"
    assert data["SCHEDULER_ENABLED"] == "false"
