"""One guard for every entry point: identify the operator, check the role, log exactly one entry.

``with guard.entry("search", "jumin") as g:`` identifies the operator from the OS account
(:mod:`.identity`), checks the roles ``permissions.toml`` declares for the entry point, and logs
one entry when the block ends: ``ok`` with what it touched (``g.records``, ``g.persons``),
``failed`` with the exception, or ``refused`` (an unknown account, a disabled operator, a
missing role, an attempt to choose the operator by flag or variable).

Inside a notebook run by ``juki run`` (the session has a run folder) the events of library
calls are collected in the run folder and the runner writes the run's single log entry with
them.  :func:`require` checks without logging success (opening a store), refusals are logged.
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..log import oplog
from . import identity, roles, runfolder
from .roles import Refused

EVENTS = "audit_events.jsonl"


@dataclass
class Guard:
    operator: str
    role: str
    os_user: str
    records: int | None = None
    detail: str = ""
    number_accessed: bool = False
    persons: list | None = None
    flags: list = field(default_factory=list)
    outcome: str | None = None         # set by the block to record "failed" without raising
    entry: dict | None = None          # the log entry written when the block ended (None inside a notebook run)


def _emit(action, target, *, operator, os_user, role, params, records, outcome, number_accessed, detail,
          persons=None, flags=None):
    run_dir = runfolder.run_dir()
    event = dict(action=action, target=target, operator=operator, os_user=os_user, role=role, params=params or {},
                 records=records, outcome=outcome, number_accessed=number_accessed, detail=detail,
                 persons=sorted({str(p) for p in persons}) if persons is not None else None, flags=flags or [])
    if run_dir is not None and Path(run_dir).is_dir():
        with open(Path(run_dir) / EVENTS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")
        return None
    return oplog.append(action, target, operator=operator, os_user=os_user, role=role, params=params, records=records,
                        outcome=outcome, number_accessed=number_accessed, detail=detail, persons=persons, flags=flags)


def _refuse(action, target, params, account, operator_id, why: str):
    with contextlib.suppress(Refused, OSError):  # a log that cannot be written refuses too; the first reason stands
        oplog.append(action, target, operator=operator_id, os_user=account, role="", params=params,
                     outcome="refused", detail=why)
    raise Refused(why)


def identify(action: str = "use", target: str = "", params: dict | None = None, flag: str | None = None):
    """The current operator (and OS account); refusals are logged and raised."""
    account, via_sudo = identity.os_account()
    why = identity.impersonation_attempt(flag)
    try:
        ops = roles.load()
    except Refused as e:
        _refuse(action, target, params, account, "", str(e))
    op = roles.by_account(ops, account)
    if why:
        _refuse(action, target, params, account, op.id if op else "", why)
    if op is None:
        from ..server import installation
        inst = installation()
        _refuse(action, target, params, account, "",
                f"OS account {account} holds no juki role: root must add it to a {inst.group_prefix}<role> group"
                if inst else
                f"OS account {account} is not an operator: an administrator must add it to {roles.operators_path().name}")
    return op, account


def refuse(action: str, target: str, why: str, params: dict | None = None, flag: str | None = None):
    """Refuse a request (one line) and log the refusal under whoever asked."""
    op, account = identify(action, target, params, flag)
    _refuse(action, target, params, account, op.id, why)


def current():
    """The current operator (no role check): for display and records."""
    return identify()[0]


def allowed_roles(action: str, allowed=None) -> frozenset:
    return frozenset(allowed) if allowed is not None else roles.needs(action)


def require(action: str, target: str = "", allowed=None, params: dict | None = None) -> roles.Operator:
    """Check the operator may use ``action``; log only a refusal."""
    op, account = identify(action, target, params)
    try:
        return roles.check(op, target or action, allowed_roles(action, allowed))
    except Refused as e:
        _refuse(action, target, params, account, op.id, str(e))


def has_role(action: str) -> bool:
    """Whether the current operator may use ``action`` (no logging: for choosing what to show)."""
    try:
        op, _ = identify()
        roles.check(op, action, allowed_roles(action))
        return True
    except Refused:
        return False


@contextlib.contextmanager
def entry(action: str, target: str, params: dict | None = None, number_accessed: bool = False,
          allowed=None, flag: str | None = None):
    if runfolder.run_dir() is None:
        oplog.check_ready()           # a use that could not be logged does not happen
    op, account = identify(action, target, params, flag)
    needed = allowed_roles(action, allowed)
    try:
        roles.check(op, target if action == "run" else action, needed)
    except Refused as e:
        _refuse(action, target, params, account, op.id, str(e))
    g = Guard(op.id, roles.primary_role(op, needed), account, number_accessed=number_accessed)
    try:
        yield g
    except BaseException as e:
        outcome = "refused" if isinstance(e, Refused) else "failed"
        _emit(action, target, operator=g.operator, os_user=account, role=g.role, params=params, records=g.records,
              outcome=outcome, number_accessed=g.number_accessed, detail=f"{type(e).__name__}: {e}"[:300],
              persons=g.persons, flags=g.flags)
        raise
    g.entry = _emit(action, target, operator=g.operator, os_user=account, role=g.role, params=params,
                    records=g.records, outcome=g.outcome or "ok", number_accessed=g.number_accessed, detail=g.detail,
                    persons=g.persons, flags=g.flags)


def collected(run_dir: Path) -> list[dict]:
    p = Path(run_dir) / EVENTS
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
