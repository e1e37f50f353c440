"""A stand-in executor process for the exactly-once tests: claims an approved action, runs it, reports.

``python -m tests.approvals._claimer <approval_id> <node_run_id> <counter_url> <mode>`` with ``DATABASE_URL``
pointing at the test database. Modes: ``normal`` (claim, POST to the counter if claimed, report the result),
``hang-after-execute`` (claim, POST, then block before reporting: the test SIGKILLs it there) and
``hang-after-claim`` (claim, then block before executing). Prints CLAIMED / EXECUTED / REFUSED / REPORTED lines.
"""

from __future__ import annotations

import os
import sys
import threading
import urllib.request


def main() -> None:
    approval_id, node_run_id, counter_url, mode = sys.argv[1:5]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    import django

    django.setup()
    from approvals.gate import claim_execution, record_execution_result

    action = {"tool": "email.send", "params": {"to": "a@example.com"}}
    if not claim_execution(approval_id=approval_id, node_run_id=node_run_id, action=action):
        print("REFUSED", flush=True)
        return
    print("CLAIMED", flush=True)
    if mode == "hang-after-claim":
        threading.Event().wait()
    urllib.request.urlopen(urllib.request.Request(counter_url, data=b"{}", method="POST"), timeout=10).read()
    print("EXECUTED", flush=True)
    if mode == "hang-after-execute":
        threading.Event().wait()
    record_execution_result(approval_id=approval_id, node_run_id=node_run_id, succeeded=True, output={"sent": True})
    print("REPORTED", flush=True)


if __name__ == "__main__":
    main()
