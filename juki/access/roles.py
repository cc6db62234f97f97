"""Operators, roles and permissions, declared as data.

* ``data/operators.toml`` (local configuration, never committed: it names real staff) maps each
  OS account to one operator with roles; ``enabled = false`` for departed staff (never delete
  the entry, so the operation log keeps its meaning).  ``data/operators.example.toml`` is the
  template ``bin/setup`` starts from.
* ``juki/access/permissions.toml`` says which roles may use each entry point.

>>> perms = permissions()
>>> sorted(perms["search"]), "scheduler" in perms["export"]
(['number_clerk', 'reviewer'], False)
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import paths
from ..errors import JukiError

ROLES = {"analyst": "統計分析者", "reviewer": "データ品質確認者", "number_clerk": "個人番号利用事務担当",
         "administrator": "管理者", "scheduler": "定期処理", "auditor": "監査担当"}
PERMISSIONS = Path(__file__).with_name("permissions.toml")


class Refused(JukiError):
    """An operator lacks the role an entry point needs, is disabled, or cannot be identified."""


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    roles: frozenset
    os_user: str = ""
    enabled: bool = True
    disabled_on: object = None      # datetime.date the account was disabled (optional)
    lapse: str = ""                 # why the operator may not act now (training, pledge, contract); "" = fit
    approved_by: str = ""           # who approved the entry's current roles (the grant's record)
    approved_on: str = ""

    @property
    def role_labels(self) -> str:
        return "・".join(ROLES[r] for r in sorted(self.roles))


@lru_cache(maxsize=1)
def permissions() -> dict[str, frozenset]:
    from ..tomlfile import read
    data = read(PERMISSIONS, "permissions file").get("entry", {})
    return _checked(data)


def _checked(data: dict) -> dict[str, frozenset]:
    out = {}
    for entry, roles in data.items():
        bad = set(roles) - set(ROLES)
        if bad:
            raise JukiError(f"permissions file: {entry}: unknown role(s) {', '.join(sorted(bad))}")
        out[entry] = frozenset(roles)
    return out


@lru_cache(maxsize=1)
def notebook_permissions() -> dict[str, frozenset]:
    """Which roles may run each installed notebook (``[notebook]`` of permissions.toml)."""
    from ..tomlfile import read
    return _checked(read(PERMISSIONS, "permissions file").get("notebook", {}))


def notebook_roles(name: str) -> frozenset:
    try:
        return notebook_permissions()[name]
    except KeyError:
        raise JukiError(f"notebook {name!r} has no roles declared in permissions.toml: nobody may run it") from None


def needs(entry: str) -> frozenset:
    try:
        return permissions()[entry]
    except KeyError:
        raise JukiError(f"no permission declared for entry point {entry!r}") from None


def operators_path() -> Path:
    return paths.operators()


def load(path=None) -> dict[str, Operator]:
    """Operators by id, from a file that must be trustworthy (see :func:`juki.paths.untrusted`).

    In an installation (``bin/setup-server``) the file is root-owned and optional: roles come from
    OS groups, and an entry may only name, disable or narrow them (see :func:`by_account`)."""
    from ..server import installation
    from ..tomlfile import read
    p = Path(path) if path else operators_path()
    if installation() is not None and not p.exists():
        return {}
    if not p.exists():
        raise Refused(f"no operators file at {p}: copy data/operators.example.toml there (bin/setup does) "
                      "and map your OS account")
    why = paths.untrusted(p)
    if why:
        raise Refused(f"operators file not trusted: {why}")
    data = read(p, "operators file")
    out, accounts = {}, {}
    for i, raw in enumerate(data.get("operator", []), start=1):
        if "id" not in raw or "roles" not in raw:
            raise JukiError(f"operators file {p}, entry {i}: needs id and roles")
        bad = set(raw["roles"]) - set(ROLES)
        if bad:
            raise JukiError(f"operators file {p}, operator {raw['id']}: unknown role(s) {', '.join(sorted(bad))}")
        off = raw.get("disabled_on")
        if off is not None and not isinstance(off, dt.date):
            raise JukiError(f"operators file {p}, operator {raw['id']}: disabled_on must be a date (YYYY-MM-DD)")
        op = Operator(raw["id"], raw.get("name", raw["id"]), frozenset(raw["roles"]), raw.get("os_user", ""),
                      bool(raw.get("enabled", True)), off, lapse(raw, data.get("settings", {}), p),
                      str(raw.get("approved_by", "")), str(raw.get("approved_on", "")))
        if op.id in out:
            raise JukiError(f"operators file {p}: operator {op.id} listed twice")
        if op.os_user:
            if op.os_user in accounts:
                raise JukiError(f"operators file {p}: OS account {op.os_user} mapped to both "
                                f"{accounts[op.os_user]} and {op.id} (共用ユーザIDは発行しない)")
            accounts[op.os_user] = op.id
        out[op.id] = op
    return out


#: Operator fields on training, pledges and contracts (PIA: 研修を年1回; 委託先の従業者は機密保持誓約書の
#: 提出後に限る; 再委託は書面の承認を得た場合のみ).
DATES = ("trained_on", "pledge_on", "contract_until")


def lapse(raw: dict, settings: dict, p=None, today: dt.date | None = None) -> str:
    """Why an operator entry may not act today ("" when it may).

    ``[settings] training_valid_days`` (e.g. 365) makes a training record (``trained_on``)
    necessary and its age bounded; an entry with ``contractor`` (委託先 or 再委託先 staff) needs
    ``contract``, ``contract_until`` not passed and a ``pledge_on`` (機密保持誓約書), and a
    ``subcontractor = true`` entry also ``subcontract_approved_on`` (再委託の承認).

    >>> lapse({"trained_on": dt.date(2026, 4, 1)}, {"training_valid_days": 365}, today=dt.date(2027, 4, 2))
    'its training (2026-04-01) is older than 365 days: 研修を年1回'
    >>> lapse({"contractor": "A社", "contract": "R8-1", "contract_until": dt.date(2027, 3, 31)}, {},
    ...       today=dt.date(2026, 12, 1))
    'contractor staff without a 機密保持誓約書 (pledge_on)'
    """
    today = today or dt.date.today()
    where = f"operators file {p}, operator {raw.get('id')}" if p else f"operator {raw.get('id')}"
    for k in DATES + ("subcontract_approved_on",):
        if raw.get(k) is not None and not isinstance(raw[k], dt.date):
            raise JukiError(f"{where}: {k} must be a date (YYYY-MM-DD)")
    days = int(settings.get("training_valid_days", 0) or 0)
    if days:
        t = raw.get("trained_on")
        if t is None:
            return "no training on record (trained_on): 研修を年1回"
        if (today - t).days > days:
            return f"its training ({t}) is older than {days} days: 研修を年1回"
    if raw.get("contractor"):
        if not raw.get("contract") or raw.get("contract_until") is None:
            return "contractor staff without a contract on record (contract, contract_until)"
        if raw["contract_until"] < today:
            return f"the contract {raw['contract']} ended on {raw['contract_until']}"
        if raw.get("pledge_on") is None:
            return "contractor staff without a 機密保持誓約書 (pledge_on)"
        if raw.get("subcontractor") and raw.get("subcontract_approved_on") is None:
            return "再委託先 staff without the city's written approval (subcontract_approved_on)"
    return ""


def _unlisted_lapse() -> str:
    """An installation account with a group but no operator entry: fit unless training is required."""
    from ..tomlfile import read
    p = operators_path()
    settings = read(p, "operators file").get("settings", {}) if p.exists() else {}
    return "no training on record (no operator entry with trained_on): 研修を年1回" \
        if int(settings.get("training_valid_days", 0) or 0) else ""


def by_account(ops: dict[str, Operator], account: str) -> Operator | None:
    """The operator an OS account acts as.  In an installation the account's OS groups decide
    the roles; the operators file can only narrow them, disable the account or name it."""
    from ..server import group_roles, installation
    listed = next((o for o in ops.values() if o.os_user == account), None)
    if installation() is None:
        return listed
    granted = group_roles(account, ROLES)
    if not granted:
        return None
    if listed is None:
        return Operator(account, account, granted, account, lapse=_unlisted_lapse())
    return dataclasses.replace(listed, roles=listed.roles & granted, os_user=account)


def check(op: Operator, entry: str, allowed) -> Operator:
    """The operator if allowed; else :class:`Refused` with a clear message."""
    if not op.enabled:
        raise Refused(f"operator {op.id} is disabled and may not use {entry}")
    if op.lapse:
        raise Refused(f"operator {op.id} may not use {entry}: {op.lapse}")
    allowed = set(allowed)
    if allowed and not (op.roles & allowed):
        have = ", ".join(sorted(op.roles)) or "no role"
        raise Refused(f"operator {op.id} ({have}) may not use {entry}: it needs {' or '.join(sorted(allowed))}")
    return op


def primary_role(op: Operator, allowed) -> str:
    """The role under which an allowed operator acts (for the log)."""
    for r in ("number_clerk", "administrator", "reviewer", "scheduler", "analyst"):
        if r in op.roles and (not allowed or r in allowed):
            return r
    return sorted(op.roles)[0] if op.roles else ""
