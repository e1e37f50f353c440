"""Helpers for the deployment tests: find helm, render the chart, and discover the settings the code reads.

helm comes from ``$HELM``, ``PATH``, or the cache that ``.ci/deploy-checks`` fills
(``/var/cache/orchestrator-ci/helm/*/helm/helm``). Tests that need it skip with a reason when none is found.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "bytebot-workflow-orchestrator"
CACHE = Path(os.environ.get("ORCHESTRATOR_CI_CACHE", "/var/cache/orchestrator-ci"))

# Secrets good enough to render the chart with its default values (the chart requires them).
RENDER_SECRETS = {
    "secrets.SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
    "secrets.DATABASE_URL": "postgres://orchestrator:pw@postgres.example.internal:5432/orchestrator",
    "secrets.REDIS_URL": "redis://redis.example.internal:6379/0",
    "secrets.AUDIT_CHAIN_KEY": "audit-" + "0123456789abcdefghijklmnopqrstuvwxyz",
}

# Folders that are not application code (or not ours).
_SKIP_DIRS = {".venv", "venv", "var", "tests", "charts", "docs", "bench", "node_modules", "migrations", ".git"}
_ENV_HELPERS = {"str", "secret", "bool", "int", "list", "choice", "url"}


def find_helm() -> str | None:
    """The helm binary: $HELM, then PATH, then the CI cache (newest first)."""
    explicit = os.environ.get("HELM")
    if explicit and Path(explicit).is_file():
        return explicit
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    cached = sorted(CACHE.glob("helm/*/helm/helm"), reverse=True)
    return str(cached[0]) if cached else None


@dataclass
class Rendered:
    returncode: int
    stdout: str
    stderr: str

    @property
    def docs(self) -> list[dict[str, Any]]:
        return [doc for doc in yaml.safe_load_all(self.stdout) if doc]

    def find(self, kind: str, name_suffix: str = "") -> dict[str, Any]:
        matches = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
        assert len(matches) == 1, f"expected one {kind} *{name_suffix}, got {[m['metadata']['name'] for m in matches]}"
        return matches[0]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]


def helm(helm_bin: str, *args: str) -> Rendered:
    proc = subprocess.run([helm_bin, *args], capture_output=True, text=True, timeout=120, check=False)
    return Rendered(proc.returncode, proc.stdout, proc.stderr)


def set_args(values: dict[str, str], *, string: bool = True) -> list[str]:
    flag = "--set-string" if string else "--set"
    out: list[str] = []
    for key, value in values.items():
        out += [flag, f"{key}={value}"]
    return out


def render(
    helm_bin: str,
    *,
    values_files: Iterable[str] = (),
    sets: dict[str, str] | None = None,
    with_secrets: bool = True,
    extra: Iterable[str] = (),
    namespace: str = "orchestrator",
) -> Rendered:
    """``helm template`` of the chart; ``with_secrets`` supplies the required secrets for default values."""
    args = ["template", "orch", str(CHART), "--namespace", namespace]
    for values_file in values_files:
        args += ["-f", str(CHART / values_file)]
    if with_secrets:
        args += set_args(RENDER_SECRETS)
    args += set_args(sets or {})
    args += list(extra)
    return helm(helm_bin, *args)


def containers(rendered: Rendered) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container of every Deployment and Job."""
    for doc in rendered.docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc, container


# --- discovery of the environment variables the code reads ---------------------------------------------------


@dataclass(frozen=True)
class EnvRead:
    name: str
    secret: bool  # read with env.secret(): also settable as <NAME>_FILE, belongs in the Secret
    where: str


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` constants, so ``os.environ.get(SOME_CONST)`` is resolved too."""
    constants: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ) or (isinstance(node, ast.Name) and node.id == "environ")


def env_reads_in_source(source: str, where: str) -> list[EnvRead]:
    """Variables read by ``env.<helper>("NAME", ...)``, ``os.environ.get/[]`` and ``os.getenv`` in one module."""
    tree = ast.parse(source)
    constants = _module_strings(tree)

    def literal(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    found: list[EnvRead] = []
    for node in ast.walk(tree):
        name: str | None = None
        secret = False
        if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
            func = node.func
            # env.str("NAME", ...), env.secret("NAME") ... (the orchestrator.lib.env helpers)
            if isinstance(func.value, ast.Name) and func.value.id == "env" and func.attr in _ENV_HELPERS:
                name = literal(node.args[0])
                secret = func.attr == "secret"
            # os.environ.get("NAME") / os.getenv("NAME")
            elif (func.attr == "get" and _is_os_environ(func.value)) or (
                func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"
            ):
                name = literal(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value) and isinstance(node.ctx, ast.Load):
            name = literal(node.slice)
        if name:
            found.append(EnvRead(name=name, secret=secret, where=f"{where}:{getattr(node, 'lineno', 0)}"))
    return found


def discover_env_reads(root: Path = ROOT) -> dict[str, EnvRead]:
    """Every environment variable the application code reads, by name (first place it is read)."""
    reads: dict[str, EnvRead] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        for read in env_reads_in_source(path.read_text(encoding="utf-8"), str(rel)):
            previous = reads.get(read.name)
            if previous is None or (read.secret and not previous.secret):
                reads[read.name] = read
    return reads
