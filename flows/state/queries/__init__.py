"""The state's named queries: one `.sql` file each, beside this one (a query of a rule code is named after it:
l_request_sent.sql, l_reason_granted_evidence.sql). Read by flows/state/ alone."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def query(name: str) -> str:
    """The text of `flows/state/queries/<name>.sql`."""
    return Path(__file__).with_name(f"{name}.sql").read_text()
