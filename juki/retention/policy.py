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
#: Floors the law or the PIA sets, by the table a rule acts on (never by a rule's id, which a
#: policy chooses): a rule asking for less is refused, whatever it is called.
#: table -> (actions allowed, shortest period in days).
FLOORS = {
    "jumin": ({"move"}, 5 * 365),             # the live file: only 除票 leave it, after 5 years (標準仕様書)
    "jumin_joshu": ({"erase"}, 150 * 365),    # 除票: 150 years (住基法施行令34条)
    "honnin": ({"erase"}, 150 * 365),         # 本人確認情報: 150 years
    "oplog": ({"erase"}, 365),                # operation logs: at least one year (PIA)
    "sofusaki": ({"erase"}, 1),               # 送付先情報: one business day after sending
    "quarantine": ({"erase"}, 0),
    "load_log": ({"erase"}, 365),             # what was loaded from where: evidence like the log
    "purge_log": ({"erase"}, 365),            # the records of erasure themselves
    "reports": ({"erase"}, 365),              # the run folders of reports/
    "exports": ({"erase"}, 1),                # files exported for recipients
    "followup": ({"erase"}, 365),             # resolved quality problems
}
#: What a rule may act on: the floors name every table.
TABLES = frozenset(FLOORS)
#: The only rows of the live 住民基本台帳ファイル a rule may select.
JUMIN_ROWS = "removed"
#: Rules over what is not a table of the store: the operation log, the reports' run folders, the
#: exported files, and the quality follow-up's resolved problems (their ``date`` is prose).
OUTSIDE = ("oplog", "reports", "exports", "followup")
_DAYS = {"y": 365, "d": 1, "bd": 1}
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


def installed() -> Path:
    """The policy in force: ``etc/retention.toml`` of an installation (root's), else the default."""
    from .. import paths
    etc = paths.config_dir()
    if etc is not None and (etc / "retention.toml").exists():
        return etc / "retention.toml"
    return DEFAULT


def load(path: str | Path | None = None) -> Policy:
    """The policy in force, with rules of ``path`` (same shape) replacing those of the same id."""
    base = installed()
    rules = {r.id: r for r in _read(base)}
    src = str(base)
    if path:
        for r in _read(Path(path)):
            rules[r.id] = r
        src = f"{base.name} + {path}"
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
        actions, days = FLOORS[raw["table"]]
        if raw["action"] not in actions:
            raise JukiError(f"{where}: rows of {raw['table']} may not be {raw['action']}d by any rule (law / PIA)")
        if int(m.group(1)) * _DAYS[m.group(2)] < days:
            raise JukiError(f"{where}: rows of {raw['table']} must be kept at least "
                            f"{days // 365 if days >= 365 else days}{'y' if days >= 365 else 'd'} (law / PIA), "
                            f"not {raw['period']}")
        if raw["table"] == "jumin" and (str(raw["rows"]).strip() != JUMIN_ROWS or raw.get("to") != "jumin_joshu"):
            raise JukiError(f"{where}: only 除票 (rows = \"{JUMIN_ROWS}\") may leave the 住民基本台帳ファイル, "
                            "into jumin_joshu")
        if raw["table"] not in OUTSIDE:
            from ..layouts.predicate import expression
            for k in ("rows", "date"):
                try:
                    expression(str(raw[k]))
                except Exception as e:
                    raise JukiError(f"{where}: {k} {raw[k]!r}: {str(e).splitlines()[0]}") from None
        out.append(RetentionRule(id=raw["id"], description=raw.get("description", ""), table=raw["table"],
                                 rows=raw["rows"], date=raw["date"], period=raw["period"], action=raw["action"],
                                 to=raw.get("to"), person=raw.get("person")))
    return out
