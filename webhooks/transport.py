"""Keep-alive HTTP for webhook deliveries: one urllib3 pool per (scheme, host, port, checked address).

The SSRF guard (``orchestrator.lib.netguard``) still resolves and checks the host on every attempt; what is pooled
is only the TCP/TLS connection *to the address that check returned*. A pool is keyed by that address, so a DNS
answer that changes (rebinding) never reaches an old connection: the new address gets checked and, if it passes,
its own pool. TLS keeps SNI and the certificate check on the URL's host name, as ``netguard.post_pinned`` does.
Redirects are never followed and nothing is retried here (a retry is the schedule's business, with the same
``webhook-id``).

Pools live per process (a forked child starts with none) and are bounded: the least recently used pool beyond
``MAX_POOLS`` is closed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from .ssrf import EXCERPT_BYTES, HttpResult, Target

MAX_POOLS = 512
PoolKey = tuple[str, str, int, str]


class Pools:
    """A bounded LRU of urllib3 connection pools; thread-safe. ``maxsize`` connections are kept per pool."""

    def __init__(self, *, maxsize: int, max_pools: int = MAX_POOLS) -> None:
        self.maxsize = maxsize
        self.max_pools = max_pools
        self._pools: OrderedDict[PoolKey, urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def get(self, target: Target) -> urllib3.HTTPConnectionPool:
        key: PoolKey = (target.scheme, target.host, target.port, target.address)
        evicted: list[urllib3.HTTPConnectionPool] = []
        with self._lock:
            if self._pid != os.getpid():  # a forked child must not share its parent's sockets
                self._pools.clear()
                self._pid = os.getpid()
            pool = self._pools.get(key)
            if pool is None:
                pool = _new_pool(target, self.maxsize)
                self._pools[key] = pool
                while len(self._pools) > self.max_pools:
                    evicted.append(self._pools.popitem(last=False)[1])
            else:
                self._pools.move_to_end(key)
        for old in evicted:
            old.close()
        return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()


def _new_pool(target: Target, maxsize: int) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            retries=False,
            maxsize=maxsize,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, retries=False, maxsize=maxsize)


def post(pools: Pools, target: Target, *, body: bytes, headers: dict[str, str], timeout_s: float) -> HttpResult:
    """POST ``body`` to ``target.address`` over a pooled keep-alive connection; same result shape and error
    wording as ``netguard.post_pinned``. Never raises for transport errors."""
    started = time.monotonic()
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s, total=timeout_s)
    send_headers = {**headers, "Host": target.host_header}
    try:
        pool = pools.get(target)
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=send_headers,
            redirect=False,
            retries=False,
            timeout=timeout,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            raw = response.read(EXCERPT_BYTES)
            # Read a short rest so the connection can be reused; a long body of unknown or large size closes the
            # connection instead (a half-read connection is never reused: urllib3 discards a readable socket).
            if not response.closed:
                rest = response.length_remaining
                if rest is not None and rest <= 64 * 1024:
                    response.read()
                else:
                    response.close()
        except Urllib3HTTPError:
            raw = b""  # the status line arrived; a body that stalls does not change the outcome
            response.close()
        finally:
            response.release_conn()
        return HttpResult(
            status_code=response.status,
            headers={k.lower(): v for k, v in response.headers.items()},
            excerpt=raw.decode("utf-8", errors="replace"),
            error="",
            timed_out=False,
            latency_s=time.monotonic() - started,
        )
    except NewConnectionError as exc:  # a subclass of the timeout error in urllib3, but a refusal here
        return HttpResult(None, {}, "", f"connection error: {exc}"[:500], False, time.monotonic() - started)
    except Urllib3TimeoutError:
        return HttpResult(None, {}, "", f"timed out after {timeout_s:g} s", True, time.monotonic() - started)
    except (Urllib3HTTPError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return HttpResult(None, {}, "", f"connection error: {reason}"[:500], False, time.monotonic() - started)
