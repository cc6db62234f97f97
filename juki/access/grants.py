"""Role lifecycle: every grant, change and revocation recorded, with who approved it and when.

Roles come from the operators file (a single-user checkout) or from OS groups narrowed by it (an
installation).  Whatever their source, :func:`record` compares the roles in force now with the
last recorded ones (``grants.json`` in the data folder) and logs one ``role_change`` entry per
operator that changed: roles added and removed, enabled or disabled, and the approval the
operators file gives for the entry (``approved_by``, ``approved_on``; PIA: 「異動／退職時に…失効」).
It runs before every command of the service and before each self-inspection; the
self-inspection asks a person to look at any change in the period that names no approval.

>>> diff({"a": {"roles": ["reviewer"], "enabled": True}}, {"a": {"roles": ["analyst"], "enabled": True},
...       "b": {"roles": ["analyst"], "enabled": True}})
[('a', ['analyst'], ['reviewer'], None), ('b', ['analyst'], [], None)]
"""
from __future__ import annotations

import json

from .. import atomic, paths

FILE = "grants.json"


def current() -> dict[str, dict]:
    """Operator id -> roles in force, enabled, and the approval the operators file records."""
    from ..server import GROUP_PREFIX, installation
    from . import roles
    try:
        ops = roles.load()
    except roles.Refused:
        ops = {}
    out = {}
    inst = installation()
    if inst is None:
        for o in ops.values():
            out[o.id] = _state(o)
        return out
    import grp
    prefix = getattr(inst, "group_prefix", GROUP_PREFIX)
    accounts = set()
    for r in roles.ROLES:
        try:
            accounts |= set(grp.getgrnam(f"{prefix}{r}").gr_mem)
        except KeyError:
            continue
    for acc in sorted(accounts | {o.os_user for o in ops.values() if o.os_user}):
        o = roles.by_account(ops, acc)
        if o is not None:
            out[o.id] = _state(o)
    return out


def _state(o) -> dict:
    approval = {k: getattr(o, k) for k in ("approved_by", "approved_on") if getattr(o, k)}
    return {"roles": sorted(o.roles), "enabled": o.enabled, **approval}


def diff(before: dict, now: dict) -> list[tuple]:
    """(operator, roles added, roles removed, enabled now or None when unchanged) per change."""
    out = []
    for oid in sorted(set(before) | set(now)):
        b, n = before.get(oid, {"roles": [], "enabled": False}), now.get(oid, {"roles": [], "enabled": False})
        added = sorted(set(n["roles"]) - set(b["roles"]))
        removed = sorted(set(b["roles"]) - set(n["roles"]))
        enabled = n["enabled"] if b.get("enabled") != n.get("enabled") and oid in before and oid in now else None
        if added or removed or enabled is not None:
            out.append((oid, added, removed, enabled))
    return out


def record(account: str = "") -> list[dict]:
    """Log each change since the last record; returns the entries written."""
    from ..log import oplog
    p = paths.data_dir() / FILE
    try:
        before = json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
    except ValueError:
        before = None
    now = current()
    if before is None:
        atomic.atomic_write_json(p, now)
        if now:
            oplog.append("role_change", "operators", operator="", os_user=account, role="",
                         params={"first_record": True, "operators": {k: v["roles"] for k, v in now.items()}},
                         records=len(now), detail="roles first recorded")
        return []
    written = []
    for oid, added, removed, enabled in diff(before, now):
        n = now.get(oid, {})
        params = {"operator_id": oid, "added": added, "removed": removed,
                  "approved_by": n.get("approved_by", ""), "approved_on": n.get("approved_on", "")}
        if enabled is not None:
            params["enabled"] = enabled
        what = ", ".join(x for x in (f"+{'/'.join(added)}" if added else "", f"-{'/'.join(removed)}" if removed else "",
                                     "" if enabled is None else ("enabled" if enabled else "disabled")) if x)
        written.append(oplog.append("role_change", oid, operator="", os_user=account, role="", params=params,
                                    records=1, detail=f"{oid}: {what}"[:300]))
    if written or before != now:
        atomic.atomic_write_json(p, now)
    return written
