"""Operators and roles: who may use which entry point.

>>> ops = load()
>>> check(ops, "analyst01", "02_population_statistics", {"analyst", "administrator"}).id
'analyst01'
>>> check(ops, "analyst01", "03_retention_purge", {"administrator"})
Traceback (most recent call last):
...
juki.audit.roles.Refused: operator analyst01 (analyst) may not use 03_retention_purge: it needs administrator
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import JukiError

ROLES = {"analyst": "統計分析者", "reviewer": "データ品質確認者", "number_clerk": "個人番号利用事務担当",
         "administrator": "管理者"}
DEFAULT_OPERATOR = "system"


class Refused(JukiError):
    """An operator lacks the role an entry point needs, or is disabled."""


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    roles: frozenset
    enabled: bool = True


def operators_path() -> Path:
    env = os.environ.get("JUKI_OPERATORS")
    return Path(env) if env else paths.root() / "data" / "operators.toml"


def load(path=None) -> dict[str, Operator]:
    from ..tomlfile import read
    p = Path(path) if path else operators_path()
    data = read(p, "operators file")
    out = {}
    for i, raw in enumerate(data.get("operator", []), start=1):
        if "id" not in raw or "roles" not in raw:
            raise JukiError(f"operators file {p}, entry {i}: needs id and roles")
        bad = set(raw["roles"]) - set(ROLES)
        if bad:
            raise JukiError(f"operators file {p}, operator {raw['id']}: unknown role(s) {', '.join(sorted(bad))}")
        out[raw["id"]] = Operator(raw["id"], raw.get("name", raw["id"]), frozenset(raw["roles"]),
                                  bool(raw.get("enabled", True)))
    return out


def current_id(explicit: str | None = None) -> str:
    return explicit or os.environ.get("JUKI_OPERATOR") or DEFAULT_OPERATOR


def check(ops: dict, operator_id: str, entry: str, needs: set | frozenset) -> Operator:
    """The operator if allowed; else :class:`Refused` with a clear message."""
    op = ops.get(operator_id)
    if op is None:
        raise Refused(f"unknown operator {operator_id!r}: not in {operators_path().name}")
    if not op.enabled:
        raise Refused(f"operator {operator_id} is disabled and may not use {entry}")
    if needs and not (op.roles & set(needs)):
        have = ", ".join(sorted(op.roles)) or "no role"
        raise Refused(f"operator {operator_id} ({have}) may not use {entry}: it needs {' or '.join(sorted(needs))}")
    return op


def primary_role(op: Operator, needs) -> str:
    """The role under which an allowed operator acts (for the log)."""
    for r in ("number_clerk", "administrator", "reviewer", "analyst"):
        if r in op.roles and (not needs or r in needs):
            return r
    return sorted(op.roles)[0] if op.roles else ""
