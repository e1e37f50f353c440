"""Test helpers: a counting HTTP task controller on 127.0.0.1, thread runners with their own DB connections."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import connection


class CountingServer:
    """A real HTTP server that counts the POSTs it receives (each one is an execution of the action)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with outer.lock:
                    outer.count += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/tasks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def counting_server() -> Iterator[CountingServer]:
    with CountingServer() as server:
        yield server


def run_concurrently(fns: list[Callable[[], Any]], timeout: float = 60) -> list[Any]:
    """Start every function at the same moment (a barrier), each in a thread with its own DB connection; return
    their results (or the exception each raised) in order."""
    barrier = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)

    def runner(index: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = fn()
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(fns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a concurrent caller hung"
    return results
