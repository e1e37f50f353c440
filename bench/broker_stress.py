"""Publish/consume stress test of the embedded broker (issue 18): reproduces kombu#1551 and measures our fix.

``python bench/broker_stress.py --transport kombu`` runs kombu's own filesystem transport,
``--transport atomic`` ours (orchestrator/broker.py), ``--transport sqlite`` kombu's SQLAlchemy transport on a
SQLite file. Publishers and consumers are separate processes on one fresh folder; a consumer counts errors
raised while receiving (kombu's raises ``JSONDecodeError`` on a half-written file) and carries on, so one run
shows how often it happens. Prints one JSON line: messages sent/received, errors, duplicates, lost, msgs/s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kombu import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def connection(transport: str, folder: str) -> Connection:
    """A kombu connection of the kind named by ``transport`` on ``folder``."""
    if transport == "sqlite":
        return Connection(f"sqla+sqlite:///{folder}/broker.sqlite3")
    options = {
        "data_folder_in": f"{folder}/in",
        "data_folder_out": f"{folder}/in",
        "processed_folder": f"{folder}/processed",
        "control_folder": f"{folder}/control",
        "store_processed": False,
        "polling_interval": 0.01,
    }
    for sub in ("in", "processed", "control"):
        Path(folder, sub).mkdir(parents=True, exist_ok=True)
    if transport == "atomic":
        return Connection("filesystem://", transport="orchestrator.broker:Transport", transport_options=options)
    return Connection("filesystem://", transport_options=options)


def publish(transport: str, folder: str, worker: int, count: int, size: int) -> None:
    """Publish ``count`` messages of roughly ``size`` bytes, each carrying its unique id."""
    with connection(transport, folder) as conn:
        queue = conn.SimpleQueue("stress")
        for index in range(count):
            queue.put({"id": f"{worker}-{index}", "pad": "x" * size})
        queue.close()


def consume(transport: str, folder: str, results: Any, stop: Any) -> None:
    """Receive until ``stop`` is set and nothing arrives for a second; send (ids, errors) back."""
    ids: list[str] = []
    errors: Counter[str] = Counter()
    with connection(transport, folder) as conn:
        queue = conn.SimpleQueue("stress")
        while True:
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                if stop.is_set():
                    break
                continue
            except Exception as exc:  # counting what a Celery worker would die of
                errors[type(exc).__name__] += 1
                continue
            ids.append(message.payload["id"])
            message.ack()
        queue.close()
    results.put((ids, dict(errors)))


def main() -> None:
    """Run one stress round and print its figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=("kombu", "atomic", "sqlite"), default="kombu")
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=1000, help="per publisher")
    parser.add_argument("--size", type=int, default=20000, help="payload bytes (bigger widens the race)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="broker-stress-")
    if args.transport == "sqlite":
        connection(args.transport, folder).SimpleQueue("stress").close()  # create tables once
    results: Any = mp.Queue()
    stop = mp.Event()
    consumers = [
        mp.Process(target=consume, args=(args.transport, folder, results, stop)) for _ in range(args.consumers)
    ]
    for process in consumers:
        process.start()
    started = time.monotonic()
    publishers = [
        mp.Process(target=publish, args=(args.transport, folder, n, args.messages, args.size))
        for n in range(args.publishers)
    ]
    for process in publishers:
        process.start()
    for process in publishers:
        process.join()
    stop.set()
    received: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for _ in consumers:
        ids, errs = results.get()
        received.update(ids)
        errors.update(errs)
    for process in consumers:
        process.join()
    elapsed = time.monotonic() - started - 1.0  # consumers wait one idle second before they stop
    sent = args.publishers * args.messages
    print(
        json.dumps(
            {
                "transport": args.transport,
                "sent": sent,
                "received": sum(received.values()),
                "errors": dict(errors),
                "duplicates": sum(n - 1 for n in received.values() if n > 1),
                "lost": sent - len(received),
                "msgs_per_s": round(sent / max(elapsed, 1e-3)),
                "folder": folder,
            }
        )
    )


if __name__ == "__main__":
    main()
