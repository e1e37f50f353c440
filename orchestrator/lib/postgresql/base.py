"""``ENGINE = "orchestrator.lib.postgresql"``: django-prometheus's PostgreSQL backend with a cheaper health check.

Why: ``CONN_HEALTH_CHECKS`` is kept (without it the first request on each persistent connection after a database
restart fails), but Django checks with a ``SELECT 1`` round trip at the first query of every request: on the run
detail that was the third statement of three, ~14 % of its time (issue 22, bench/README.md).

How: when PostgreSQL ends a connection (restart, ``pg_terminate_backend``, idle timeout) it sends an error message
and closes the socket, so an idle connection the server ended has something to read. A connection that is idle in
no transaction, not known broken by the driver and with nothing to read is used without asking; otherwise
Django's own ``SELECT 1`` decides, as before. A connection silently dropped by the network (no close reaches
us) passes the cheap check, where ``SELECT 1`` would have noticed it; the request then fails once and the
connection is replaced, as with any statement on a connection that dies after its check.
"""

from __future__ import annotations

import select
from typing import Any

from django_prometheus.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        """True without a round trip for an idle connection with nothing to read; else Django's ``SELECT 1``."""
        connection: Any = self.connection
        if connection is None:
            return False
        try:
            if (
                not connection.closed
                and not connection.broken
                and connection.info.transaction_status == TransactionStatus.IDLE
            ):
                poller = select.poll()  # not select(): no limit on the descriptor's number
                poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
                if not poller.poll(0):
                    return True
        except (OSError, ValueError):
            pass  # no usable socket: let the round trip decide
        return bool(super().is_usable())
