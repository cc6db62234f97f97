"""The retention policy: rules as data (TOML), validated on load with clear errors.

>>> p = load()
>>> [r.id for r in p.rules][:3]
['sofusaki_sent', 'joshu_move', 'joshu_erase']
>>> import datetime as dt
>>> p.rule('sofusaki_sent').cutoff(dt.date(2026, 1, 5))   # sent on 12/26 is due on 1/5
datetime.date(2026, 1, 4)
>>> p.rule('joshu_move').cutoff(dt.date(2026, 4, 1))
datetime.date(2021, 4, 1)
>>> p.rule('quarantine_erase').cutoff(dt.date(2026, 4, 1))
datetime.date(2026, 1, 1)
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from .. import businessdays
from ..errors import JukiError

DEFAULT = Path(__file__).with_name("default_policy.toml")
TABLES = {"jumin", "jumin_joshu", "honnin", "sofusaki", "quarantine", "oplog"}
#: Floors the law or the PIA sets; a policy asking for less is refused.
MINIMUM = {"oplog_erase": ("y", 1), "joshu_erase": ("y", 150), "honnin_superseded_erase": ("y", 150),
           "honnin_removed_erase": ("y", 150)}
_PERIOD = re.compile(r"^(\d+)(y|d|bd)$")


@dataclass(frozen=True)
class RetentionRule:
    id: str
    description: str
    table: str
    rows: str
    date: str
    period: str
    action: str
    to: str | None = None
    person: str | None = None

    @property
    def amount(self) -> tuple[int, str]:
        n, unit = _PERIOD.match(self.period).groups()
        return int(n), unit

    def deadline(self, d: dt.date) -> dt.date:
        """The day a row dated ``d`` is due (``d`` + period).

        >>> r = RetentionRule("x", "", "sofusaki", "TRUE", "sent_date", "1bd", "erase")
        >>> r.deadline(dt.date(2026, 5, 1)).isoformat()     # Golden Week
        '2026-05-07'
        """
        n, unit = self.amount
        if unit == "d":
            return d + dt.timedelta(days=n)
        if unit == "y":
            try:
                return d.replace(year=d.year + n)
            except ValueError:  # 29 February
                return d.replace(year=d.year + n, day=28)
        return businessdays.add_business_days(d, n)

    def days_overdue(self, d: dt.date, as_of: dt.date) -> int:
        """Business days a row dated ``d`` is past its deadline on ``as_of`` (0 when not late).

        >>> r = RetentionRule("x", "", "sofusaki", "TRUE", "sent_date", "1bd", "erase")
        >>> r.days_overdue(dt.date(2026, 3, 22), dt.date(2026, 4, 1))   # due Mon 23 March
        7
        """
        return max(0, len(businessdays.business_days(self.deadline(d), as_of)) - 1)

    def cutoff(self, as_of: dt.date) -> dt.date:
        """The latest date whose rows are due on ``as_of`` (date + period <= as_of)."""
        n, unit = self.amount
        if unit == "d":
            return as_of - dt.timedelta(days=n)
        if unit == "y":
            try:
                return as_of.replace(year=as_of.year - n)
            except ValueError:  # 29 February
                return as_of.replace(year=as_of.year - n, day=28)
        d = as_of
        while businessdays.add_business_days(d, n) > as_of:
            d -= dt.timedelta(days=1)
        return d


@dataclass(frozen=True)
class Policy:
    rules: tuple[RetentionRule, ...]
    source: str

    def rule(self, rule_id: str) -> RetentionRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def load(path: str | Path | None = None) -> Policy:
    """The default policy, with rules of ``path`` (same shape) replacing those of the same id."""
    rules = {r.id: r for r in _read(DEFAULT)}
    src = str(DEFAULT)
    if path:
        for r in _read(Path(path)):
            rules[r.id] = r
        src = f"{DEFAULT.name} + {path}"
    return Policy(tuple(rules.values()), src)


def _read(path: Path) -> list[RetentionRule]:
    from ..tomlfile import read
    data = read(path, "retention policy")
    out = []
    for i, raw in enumerate(data.get("rule", []), start=1):
        where = f"retention policy {path.name}, rule {i}"
        missing = [k for k in ("id", "table", "rows", "date", "period", "action") if k not in raw]
        if missing:
            raise JukiError(f"{where}: missing {', '.join(missing)}")
        unknown = set(raw) - {"id", "description", "table", "rows", "date", "period", "action", "to", "person"}
        if unknown:
            raise JukiError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        if raw["table"] not in TABLES:
            raise JukiError(f"{where}: unknown table {raw['table']!r}")
        if raw["action"] not in ("move", "erase"):
            raise JukiError(f"{where}: action must be move or erase, not {raw['action']!r}")
        if raw["action"] == "move" and raw.get("to") not in TABLES:
            raise JukiError(f"{where}: a move needs 'to' = a known table")
        m = _PERIOD.match(str(raw["period"]))
        if not m:
            raise JukiError(f"{where}: period {raw['period']!r} is not like 5y, 30d or 1bd")
        floor = MINIMUM.get(raw["id"])
        if floor and (m.group(2) != floor[0] or int(m.group(1)) < floor[1]):
            raise JukiError(f"{where}: {raw['id']} must keep rows at least {floor[1]}{floor[0]} (law / PIA)")
        out.append(RetentionRule(id=raw["id"], description=raw.get("description", ""), table=raw["table"],
                                 rows=raw["rows"], date=raw["date"], period=raw["period"], action=raw["action"],
                                 to=raw.get("to"), person=raw.get("person")))
    return out
