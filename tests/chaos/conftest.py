"""The chaos stack, shared by the tests of this folder (one start-up, about 20 s)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.chaos.load import Load
from tests.chaos.servers import PG_BIN, PrivatePostgres, PrivateRedis, Stack, TaskController, WebhookReceiver


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("redis-server") is None or not (PG_BIN / "initdb").exists():
        for item in items:
            if "chaos" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="needs redis-server and PostgreSQL server binaries"))


@pytest.fixture(scope="session")
def chaos() -> Iterator[Load]:
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    pg = PrivatePostgres()
    redis = PrivateRedis(workdir)
    controller = TaskController()
    receiver = WebhookReceiver()
    stack: Stack | None = None
    try:
        pg.start()
        pg.psql("CREATE DATABASE orchestrator")
        redis.start()
        stack = Stack(workdir, pg, redis, controller)
        stack.manage("migrate", "--noinput", "-v0")
        # The reviewer here is a service key deciding e-mails (HIGH): the tenant's policy allows it (issue 15).
        stack.manage("create_tenant", "chaos", "--risk-policy", '{"deciders": {"HIGH": "humans_or_services"}}')
        requester = (
            stack.manage(
                "create_api_key",
                "--tenant",
                "chaos",
                "--name",
                "requester",
                "--scopes",
                "workflows,approvals:request,webhooks,audit",
            )
            .strip()
            .splitlines()[-1]
        )
        reviewer = stack.manage("create_api_key", "--tenant", "chaos", "--name", "reviewer",
                                "--scopes", "approvals:decide,approvals:request").strip().splitlines()[-1]  # fmt: skip
        stack.start_all()
        hook = requests.post(f"{stack.base_url}/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]},
                             headers={"Authorization": f"Bearer {requester}"}, timeout=10)  # fmt: skip
        assert hook.status_code == 201, hook.text
        yield Load(stack=stack, pg=pg, redis=redis, controller=controller, receiver=receiver,
                   requester_key=requester, reviewer_key=reviewer)  # fmt: skip
    finally:
        if stack is not None:
            stack.stop_all()
        controller.close()
        receiver.close()
        redis.kill()
        pg.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
