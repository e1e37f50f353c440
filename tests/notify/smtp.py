"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts, for the e-mail tests."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    rcpt_tos: list[str]
    message: Message


class Recorder:
    """The aiosmtpd handler: every accepted message, in order."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.messages.append(Received(list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Recorder, int]]:
    """Start the server (in its own thread) and stop exactly it afterwards."""
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()
