"""Changes of root's configuration are detected and logged (an installation's ``etc/``).

Policies, export profiles, vendor profiles, the operators file and the permissions decide what
juki may do, and only root can change them.  Every command the service account runs compares
their SHA-256 digests with those it last saw (``data/config_digests.json``) and logs each
change -- added, changed or removed, with both digests -- before it does anything else, so the
log says which rules were in force for every use.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import atomic, paths

RECORD = "config_digests.json"


def watched() -> list[Path]:
    from .roles import PERMISSIONS
    etc = paths.config_dir()
    files = [PERMISSIONS, Path(__file__).resolve().parents[1] / "stats" / "disclosure_policy.toml"]
    if etc is not None:
        files += sorted(etc.glob("*.toml")) + sorted(etc.glob("export_profiles/*.toml")) + sorted(etc.glob("profiles/*.toml"))
    return files


def digests() -> dict[str, str]:
    out = {}
    for p in watched():
        try:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            continue
    return out


def _who(f: str) -> dict:
    """Who last wrote a file and when, as the file system says (only its owner can write root's
    configuration): the owner account and the modification time."""
    import datetime as dt
    import pwd
    try:
        st = Path(f).stat()
    except OSError:
        return {}
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    return {"owner": owner, "modified": dt.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")}


def check(account: str = "") -> list[dict]:
    """Log every change since the last check; returns the changes."""
    from ..log import oplog
    rec = paths.data_dir() / RECORD
    before = json.loads(rec.read_text(encoding="utf-8")) if rec.exists() else {}
    now = digests()
    changes = []
    for f in sorted(set(before) | set(now)):
        if before.get(f) != now.get(f):
            kind = "added" if f not in before else "removed" if f not in now else "changed"
            changes.append({"file": f, "change": kind, "before": before.get(f), "after": now.get(f), **_who(f)})
    if changes:
        first = not before
        oplog.append("config_recorded" if first else "config_changed", "configuration", operator="", os_user=account,
                     role="", params={"files": changes[:50]}, records=len(changes),
                     detail=("configuration first recorded" if first else
                             "; ".join(f"{Path(c['file']).name} {c['change']}" for c in changes))[:300])
        atomic.atomic_write_json(rec, now)
    return changes
