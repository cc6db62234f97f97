"""提供先・移転先台帳: the register of lawful recipients that every export must name.

The register (``recipients.toml``: root's ``PREFIX/etc/recipients.toml`` in an installation,
else ``<data>/recipients.toml`` or the checkout's ``data/recipients.toml``) lists each recipient
with its kind (提供, 移転, or 事務内利用), legal basis, purpose, the files and items it may
receive, whether 個人番号 may be included, and the period it is in force.  An export profile
names its entry (``register = "kokuho"``; the built-in ``default`` profile names
``jumin_jimu``).  :func:`admit` refuses, with one line and a log entry, an export whose entry is
missing, not in force on the day, or narrower than what the profile would send.

>>> e = Entry("x", "国民健康保険課", "移転", "番号法第9条", "資格管理", ("jumin",), {"jumin": ("shimei",)}, False,
...           dt.date(2016, 1, 1), None)
>>> e.in_force(dt.date(2026, 11, 30)), e.in_force(dt.date(2015, 12, 31))
(True, False)
>>> e.refusal("jumin", ["shimei", "kojin_bango"], True, False)
'its register entry x does not allow 個人番号'
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import JukiError
from ..layouts import LAYOUTS

FILE = "recipients.toml"
KINDS = ("提供", "移転", "事務内利用")
DEFAULT_ENTRY = "jumin_jimu"


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    kind: str
    basis: str
    purpose: str
    files: tuple
    items: dict | None              # file -> allowed columns (None: any but 個人番号 and secrets)
    individual_number: bool
    valid_from: dt.date
    valid_to: dt.date | None
    secrets: bool = False
    contractor: bool = False          # a 委託先 (or 再委託先): files handed over must be erased and that confirmed
    erase_within_days: int = 30

    def erase_by(self, day: dt.date) -> dt.date | None:
        """When a file exported on ``day`` must have been erased (contractors only)."""
        return day + dt.timedelta(days=self.erase_within_days) if self.contractor else None

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def refusal(self, table: str, cols: list, with_number: bool, with_secret: bool) -> str | None:
        """Why this entry does not cover sending ``cols`` of ``table`` (None: it does)."""
        if table not in self.files:
            return f"its register entry {self.id} does not receive the {LAYOUTS[table].file}"
        if with_number and not self.individual_number:
            return f"its register entry {self.id} does not allow 個人番号"
        if with_secret and not self.secrets:
            return f"its register entry {self.id} does not allow secrets"
        if self.items is not None and table in self.items:
            extra = [c for c in cols if c not in self.items[table]]
            if extra:
                names = "、".join(LAYOUTS[table].item(c).name for c in extra[:5])
                return f"its register entry {self.id} does not list {names}"
        return None


def path() -> Path:
    etc = paths.config_dir()
    if etc is not None:
        return etc / FILE
    local = paths.data_dir() / FILE
    return local if local.exists() else paths.root() / "data" / FILE


def load(p: Path | None = None) -> dict[str, Entry]:
    from ..tomlfile import read
    p = p or path()
    if not p.exists():
        return {}
    out = {}
    for n, d in enumerate(read(p, "register of recipients").get("recipient", []), start=1):
        where = f"{p.name}: recipient {n}"
        try:
            e = Entry(str(d["id"]), str(d["name"]), str(d["kind"]), str(d["basis"]), str(d["purpose"]),
                      tuple(d["files"]),
                      {t: tuple(c) for t, c in d["items"].items()} if "items" in d else None,
                      bool(d.get("individual_number", False)), _day(d["valid_from"], where),
                      _day(d["valid_to"], where) if d.get("valid_to") else None, bool(d.get("secrets", False)),
                      bool(d.get("contractor", False)), int(d.get("erase_within_days", 30)))
        except KeyError as k:
            raise JukiError(f"{where}: missing {k.args[0]}") from None
        if e.kind not in KINDS:
            raise JukiError(f"{where}: kind must be one of {', '.join(KINDS)} (got {e.kind!r})")
        if not e.basis.strip():
            raise JukiError(f"{where}: no legal basis")
        bad = [t for t in e.files if t not in LAYOUTS]
        if bad:
            raise JukiError(f"{where}: unknown file(s) {', '.join(bad)}")
        out[e.id] = e
    return out


def _day(v, where: str) -> dt.date:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise JukiError(f"{where}: not a date: {v!r}") from None


def admit(register_id: str | None, profile: str, table: str, cols: list, with_number: bool, with_secret: bool,
          params: dict, day: dt.date | None = None) -> Entry:
    """The register entry an export goes under; refused (logged) when there is none that covers it."""
    from ..access import guard
    day = day or dt.date.today()
    entries = load()
    if not register_id:
        guard.refuse("export", table, f"export profile {profile} names no recipient of the register ({path().name}): "
                     "exports go only to registered recipients", params)
    e = entries.get(register_id)
    if e is None:
        guard.refuse("export", table, f"export profile {profile}: {register_id!r} is not in the register of recipients "
                     f"({path()})", params)
    if not e.in_force(day):
        guard.refuse("export", table, f"export profile {profile}: the register entry {e.id} is not in force on {day} "
                     f"({e.valid_from} – {e.valid_to or ''})", params)
    why = e.refusal(table, cols, with_number, with_secret)
    if why:
        guard.refuse("export", table, f"export profile {profile}: {why}", params)
    return e
