"""The operation log: append-only JSON lines, hash-chained, so that an edited, removed or
reordered entry is detected (``juki audit verify``).

Each entry: seq, at, operator, role, action (run, search, export, load, purge, refusal,
report), target, params (never personal data), records, number_accessed, outcome, prev
(hash of the previous entry) and hash = SHA-256 of the entry without ``hash``.  Appends take
an exclusive lock and fsync.  Retention prunes old entries by rewriting the file behind an
*anchor* entry that carries the hash and seq of the last pruned entry, so the chain still
verifies.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path

from .. import paths

GENESIS = "0" * 64


def log_path() -> Path:
    env = os.environ.get("JUKI_OPLOG")
    return Path(env) if env else paths.root() / "data" / "oplog.jsonl"


def _hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _last(fh) -> dict | None:
    fh.seek(0)
    last = None
    for line in fh:
        if line.strip():
            last = line
    return json.loads(last) if last else None


def append(action: str, target: str, *, operator: str, role: str = "", params: dict | None = None,
           records: int | None = None, outcome: str = "ok", number_accessed: bool = False,
           detail: str = "", path: Path | None = None, at: dt.datetime | None = None) -> dict:
    p = Path(path) if path else log_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            last = _last(fh)
            entry = {"seq": (last["seq"] + 1) if last else 1,
                     "at": (at or dt.datetime.now()).isoformat(timespec="seconds"),
                     "operator": operator, "role": role, "action": action, "target": target,
                     "params": params or {}, "records": records, "number_accessed": number_accessed,
                     "outcome": outcome, "detail": detail, "prev": last["hash"] if last else GENESIS}
            entry["hash"] = _hash(entry)
            fh.seek(0, os.SEEK_END)
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


def entries(path: Path | None = None) -> list[dict]:
    p = Path(path) if path else log_path()
    if not p.exists():
        return []
    with open(p, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def verify(path: Path | None = None) -> tuple[bool, str]:
    """(ok, message): the first broken link, or how many entries verified."""
    p = Path(path) if path else log_path()
    if not p.exists():
        return True, "no operation log yet"
    prev, seq = GENESIS, None
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                return False, f"line {n}: not a log entry"
            if e.get("hash") != _hash(e):
                return False, f"line {n} (seq {e.get('seq')}): entry was altered"
            if n == 1 and e.get("action") == "anchor":
                prev, seq = e["chain"], e["seq"]
                continue
            if e.get("prev") != prev:
                return False, f"line {n} (seq {e.get('seq')}): chain broken (an entry was removed, inserted or reordered)"
            if seq is not None and e.get("seq") != seq + 1:
                return False, f"line {n}: sequence jumps from {seq} to {e.get('seq')}"
            prev, seq = e["hash"], e["seq"]
    return True, f"{seq or 0} entries verified"


def prune(before: dt.date, path: Path | None = None) -> int:
    """Drop entries older than ``before`` behind an anchor; returns how many were dropped.

    The anchor records the seq and hash of the last dropped entry (``chain``), so the entry
    after it still verifies; the anchor itself is hashed like any entry.
    """
    p = Path(path) if path else log_path()
    es = entries(p)
    old = [e for e in es if e["at"][:10] < before.isoformat()]
    if not old:
        return 0
    last = old[-1]
    keep = es[es.index(last) + 1:]
    anchor = {"seq": last["seq"], "at": dt.datetime.now().isoformat(timespec="seconds"), "action": "anchor",
              "target": "oplog", "operator": "system", "role": "administrator",
              "params": {"pruned_before": before.isoformat()}, "records": len(old),
              "number_accessed": False, "outcome": "ok", "detail": "", "prev": None,
              "chain": last.get("chain", last["hash"]) if last.get("action") == "anchor" else last["hash"]}
    anchor["hash"] = _hash(anchor)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for e in [anchor] + keep:
            fh.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)
    return len(old)
