"""The embedded broker: kombu's filesystem transport, made safe for several processes.

kombu's own filesystem transport writes a message file in place (open, write) while consumers list the same
folder and read whatever they find, so a consumer can read a half-written file; ``json.loads`` then raises
``JSONDecodeError`` inside the worker's event loop and Celery exits (celery/kombu#1551). It also claims a
message by ``shutil.move`` into the system temp folder, which is a copy when that folder is on another
filesystem — two consumers can then both deliver the message.

This transport keeps kombu's folder layout, file names and exchange tables and changes three things:

* **publish** writes to ``tmp/`` and renames into ``in/`` (``os.rename`` is atomic on one filesystem), so a
  consumer only ever sees complete files;
* **claim** renames the file from ``in/`` to ``processed/`` (same filesystem), so exactly one consumer wins;
* **a message that cannot be read or decoded** is logged with its file name (the message id on this broker)
  and moved to ``rejected/``; the consumer goes on with the next file instead of raising.

On Redis, kombu likewise decodes each popped message inside the worker's event loop and a bad one stops the
worker; ``RedisTransport`` below drops such a message (BRPOP has already removed it, so that is the ack) and
logs it with its id when one can be read. Messages whose JSON is sound but whose body Celery cannot use
(unknown task, bad content type) are logged and acknowledged by Celery itself on both brokers.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import time
from typing import Any

from kombu.transport import filesystem, redis
from kombu.transport.virtual import Channel as VirtualChannel
from kombu.utils.json import dumps, loads

logger = logging.getLogger("orchestrator.broker")

SUFFIX = ".msg"


def _folder(options: dict[str, Any], key: str, default: str) -> Path:
    """The folder named by transport option ``key`` (created if missing); ``default`` beside ``data_folder_in``."""
    path = Path(options.get(key) or Path(options.get("data_folder_in", "data_in")).parent / default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def decode(channel: VirtualChannel, raw: bytes) -> Any:
    """The message ``raw`` decoded the way kombu will deliver it; raises for anything kombu would choke on."""
    payload = loads(raw.decode())
    channel.Message(payload, channel=channel)  # the shape kombu needs; raises exactly as delivery would
    return payload


def _count_rejected(queue: str) -> None:
    """Count a rejected message in the metrics (absent outside Django, e.g. in bench/broker_stress.py)."""
    try:
        from orchestrator.metrics import broker_messages_rejected_total

        broker_messages_rejected_total.labels(queue=queue).inc()
    except Exception:  # a missing metric must never stop the consumer
        logger.debug("broker: rejected-message metric unavailable", exc_info=True)


class Channel(filesystem.Channel):
    """Filesystem channel with atomic publish, rename-to-claim and a ``rejected/`` folder for bad messages."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu's own
        """Write ``payload`` under ``tmp/`` then rename it into the inbox: consumers never see a partial file.

        Names sort by wall-clock milliseconds (kombu's own uses each process's monotonic clock, which is not
        comparable between processes), then a uuid keeps them unique.
        """
        name = f"{int(time() * 1000):015d}_{uuid.uuid4()}.{queue}{SUFFIX}"
        temporary = _folder(self.transport_options, "tmp_folder", "tmp") / name
        with open(temporary, "wb") as handle:
            handle.write(dumps(payload).encode())
        os.rename(temporary, Path(self.data_folder_out) / name)

    def _get(self, queue: str, timeout: Any = None) -> Any:
        """Claim and return the oldest readable message of ``queue``; raise ``Empty`` when there is none.

        Side effects: the claimed file is removed; an unreadable/undecodable one is moved to ``rejected/``.
        """
        inbox = Path(self.data_folder_in)
        claimed_dir = _folder(self.transport_options, "processed_folder", "processed")
        wanted = f"{queue}{SUFFIX}"
        for name in sorted(os.listdir(inbox)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_dir / name
            try:
                os.rename(inbox / name, claimed)
            except OSError:
                continue  # another consumer claimed it first
            try:
                payload = decode(self, claimed.read_bytes())
            except Exception as exc:  # any failure here means this one message is unusable
                self._reject_file(claimed, queue, exc)
                continue
            claimed.unlink(missing_ok=True)
            return payload
        raise Empty()

    def _reject_file(self, path: Path, queue: str, exc: BaseException) -> None:
        """Move an unusable message file to ``rejected/`` and log it; never raises (the consumer must go on)."""
        rejected = _folder(self.transport_options, "rejected_folder", "rejected") / path.name
        try:
            os.replace(path, rejected)
        except OSError:
            logger.exception("broker: could not move rejected message %s aside", path.name)
        logger.error(
            "broker: rejected unreadable message id=%s queue=%s (%s: %s); moved to %s",
            path.name,
            queue,
            type(exc).__name__,
            exc,
            rejected,
        )
        _count_rejected(queue)


class Transport(filesystem.Transport):
    """kombu transport class for ``CELERY_BROKER_TRANSPORT`` (the URL stays ``filesystem://``)."""

    Channel = Channel


class RedisChannel(redis.Channel):
    """kombu's Redis channel, except that a message it cannot decode is acknowledged and logged, not raised."""

    def _brpop_read(self, **options: Any) -> bool:
        """kombu 5's ``_brpop_read`` with the decode step guarded (the rest is unchanged on purpose)."""
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if not dest__item:
                raise Empty()
            dest, item = dest__item
            dest = dest.decode().rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            try:
                payload = decode(self, item)
            except Exception as exc:  # one bad message must not stop the worker
                _reject_popped(item, dest, exc)
                return True
            self.connection._deliver(payload, dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]  # kombu's own reset, as in the original
            flush = getattr(self, "_flush_brpop_reauth", None)  # newer kombu only
            if flush is not None:
                flush()

    def _get(self, queue: str, timeout: Any = None) -> Any:
        """``basic_get``'s path: skip (ack-and-log) undecodable messages, return the first good one."""
        with self.conn_or_acquire() as client:
            for pri in self.priority_steps:
                while item := client.rpop(self._q_for_pri(queue, pri)):
                    try:
                        return decode(self, item)
                    except Exception as exc:  # one bad message must not stop the consumer
                        _reject_popped(item, queue, exc)
            raise Empty()


def _reject_popped(item: bytes, queue: str, exc: BaseException) -> None:
    """Log a message already popped from Redis (so acknowledged) that cannot be delivered, with its id if any."""
    message_id = "unknown"
    try:
        parsed = loads(item.decode())
        message_id = str(parsed.get("headers", {}).get("id") or parsed["properties"]["delivery_tag"])
    except Exception:  # noqa: S110 - the id is a courtesy; the message is unusable either way
        pass
    logger.error(
        "broker: rejected undecodable message id=%s queue=%s (%s: %s); acknowledged and dropped, first bytes %r",
        message_id,
        queue,
        type(exc).__name__,
        exc,
        item[:120],
    )
    _count_rejected(queue)


class RedisTransport(redis.Transport):
    """kombu's Redis transport with :class:`RedisChannel` (``CELERY_BROKER_TRANSPORT`` when the broker is Redis)."""

    Channel = RedisChannel
