"""Access control: who is running (:mod:`.identity`), operators, roles and permissions as data
(:mod:`.roles`, ``permissions.toml``), the guard every entry point goes through (:mod:`.guard`),
role changes (:mod:`.grants`), configuration changes (:mod:`.configwatch`) and number reveal."""
from __future__ import annotations


def reveal_number(value: str, person: str | None = None) -> str:
    """The individual number in clear, for number-use work only; logged as a number access of
    ``person`` (宛名番号).  Every other role gets the masked form from :func:`juki.privacy.mask`."""
    from . import guard
    with guard.entry("reveal", "kojin_bango", number_accessed=True) as g:
        g.records = 1
        g.persons = [person] if person else []
        return value
