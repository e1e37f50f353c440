"""Sample what a database's backends are doing (pg_stat_activity) while a benchmark runs (issue 22).

Every ``--interval`` seconds it reads the state and wait event of each backend of the database and, for those in
a transaction, what they wait for (Lock:transactionid / Lock:tuple = a row lock, Client:ClientRead = waiting for
the application, e.g. a thread waiting for the GIL, IO:WALSync = commit fsync, none = on CPU). At the end
(SIGINT/SIGTERM or ``--seconds``) it prints the share of backend samples per (state, wait) for the window given by
``--since``/``--until`` (epoch seconds; default: everything), and, for row-lock waits, which statement waited.

    .venv/bin/python bench/pg_waits.py --dsn postgres://postgres@127.0.0.1:5432/orch_decide --seconds 60 > waits.json
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections import Counter

import psycopg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--out", help="write raw samples (epoch, state, wait, query prefix) as JSON lines here")
    args = parser.parse_args()
    stop = False

    def finish(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    out = open(args.out, "w") if args.out else None  # noqa: SIM115 (closed below; optional)
    counts: Counter[str] = Counter()
    lock_queries: Counter[str] = Counter()
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        dbname = conn.info.dbname
        end = time.time() + args.seconds
        while not stop and time.time() < end:
            now = time.time()
            rows = conn.execute(
                "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu'), left(query, 90) "
                "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
                (dbname,),
            ).fetchall()
            for state, wait, query in rows:
                key = f"{state} / {wait}"
                counts[key] += 1
                if wait.startswith("Lock:"):
                    lock_queries[query] += 1
                if out:
                    out.write(json.dumps([round(now, 3), state, wait, query]) + "\n")
            time.sleep(args.interval)
    if out:
        out.close()
    total = sum(counts.values()) or 1
    print(json.dumps({"samples": total, "by_state_wait": {k: round(v / total, 3) for k, v in counts.most_common()},
                      "lock_waits_by_statement": dict(lock_queries.most_common(8))}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
