"""Accountability: who is running (:mod:`.identity`), operators, roles and permissions as data
(:mod:`.roles`), the guard every entry point goes through (:mod:`.guard`), the two-of-four search
(:mod:`.search`), number reveal, the anchored operation log (:mod:`.oplog`) and the access audit
(:mod:`.review`)."""
from __future__ import annotations

from . import guard, oplog, roles  # noqa: F401


def reveal_number(value: str, person: str | None = None) -> str:
    """The individual number in clear, for number-use work only; logged as a number access of
    ``person`` (宛名番号).  Every other role gets the masked form from :func:`juki.privacy.mask`."""
    with guard.entry("reveal", "kojin_bango", number_accessed=True) as g:
        g.records = 1
        g.persons = [person] if person else []
        return value
