"""Operators and roles (:mod:`.roles`), the guard every entry point goes through
(:mod:`.guard`), the reviewers' two-of-four search (:mod:`.search`), number reveal, and the
hash-chained operation log (:mod:`.oplog`)."""
from __future__ import annotations

from . import guard, oplog, roles  # noqa: F401


def reveal_number(value: str, operator: str | None = None) -> str:
    """The individual number in clear, for number-use work only; logged as a number access.

    Every other role gets the masked form from :func:`juki.privacy.mask` and never reaches here.
    """
    with guard.entry("reveal", "kojin_bango", {"number_clerk"}, operator=operator, number_accessed=True) as g:
        g.records = 1
        return value
