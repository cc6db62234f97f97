"""The operation log: append-only JSON lines, hash-chained, anchored outside the log.

Each entry: seq, at, os_user, operator, role, action, target, params (never personal data),
records, number_accessed, outcome (ok, failed, refused), detail, the persons the use touched
(``persons``: 宛名番号 inline for a few, else ``persons_count`` + ``persons_digest`` and a key
list file kept beside the log in ``oplog.jsonl.d/``), prev (hash of the previous entry) and
hash = SHA-256 of the entry without ``hash``.

The chain alone shows an edited or reordered entry, but not a cut-off tail or a log re-hashed
from the point of a deletion.  So every append also rewrites an **anchor** file
(``oplog.jsonl.anchor``: the last seq and its hash, authenticated with an HMAC whose key
``oplog.jsonl.key`` only the log's owner can read), and every write of the store records the log
head in the store's metadata (a second witness).  :func:`verify` then detects an edited,
reordered, deleted, truncated, re-hashed or missing log and says which entry or since when.

Appends take an exclusive lock and fsync.  Files are private (0600).  Retention prunes old
entries by rewriting the file behind an *anchor entry* carrying the hash and seq of the last
pruned entry, so the chain still verifies.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
from pathlib import Path

from .. import atomic, paths
from ..access.roles import Refused
from . import witness as wlog

GENESIS = "0" * 64
#: Persons listed in the entry itself; more go to a key list file beside the log.
INLINE_PERSONS = 20


def log_path() -> Path:
    p = paths.oplog()
    if os.environ.get("JUKI_OPLOG"):
        why = paths.untrusted(p)
        if why:
            raise Refused(f"operation log location not trusted: {why}")
    return p


def anchor_path(p: Path) -> Path:
    return p.with_name(p.name + ".anchor")


def key_path(p: Path) -> Path:
    return p.with_name(p.name + ".key")


def keys_dir(p: Path) -> Path:
    return p.with_name(p.name + ".d")


def _hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _link(e: dict) -> dict:
    """{seq, hash} the next entry chains from (a prune's anchor entry passes on the pruned chain)."""
    return {"seq": e["seq"], "hash": e["chain"] if e.get("action") == "anchor" else e["hash"]}


def _key(p: Path, create: bool) -> bytes | None:
    kp = key_path(p)
    if kp.exists():
        return kp.read_bytes()
    if not create:
        return None
    key = os.urandom(32)
    try:
        fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return kp.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _mac(key: bytes, seq: int, head: str) -> str:
    return hmac.new(key, f"{seq}|{head}".encode(), hashlib.sha256).hexdigest()


def read_anchor(p: Path) -> dict | None:
    a = anchor_path(p)
    if not a.exists():
        return None
    try:
        return json.loads(a.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"broken": True}


def _write_anchor(p: Path, key: bytes, seq: int, head: str) -> None:
    atomic.atomic_write_json(anchor_path(p), {"seq": seq, "head": head, "mac": _mac(key, seq, head),
                                              "at": dt.datetime.now().isoformat(timespec="seconds")})


def _last_line(fh) -> str | None:
    """The last non-empty line of an open file, read from the end."""
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if not end:
        return None
    block, data = 8192, b""
    pos = end
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
        lines = [ln for ln in data.split(b"\n") if ln.strip()]
        if len(lines) >= 2 or (pos == 0 and lines):
            return lines[-1].decode("utf-8")
    return None


def _anchor_problem(p: Path, last: dict | None, key: bytes | None) -> str | None:
    """Why the log and its anchor disagree (None when they agree or there is nothing yet)."""
    a = read_anchor(p)
    if a is None:
        if last is not None or key is not None:
            return "the anchor file is missing"
        return None
    if a.get("broken"):
        return "the anchor file is unreadable"
    if key is None:
        return "the anchor's key file is missing"
    if not hmac.compare_digest(a.get("mac", ""), _mac(key, a["seq"], a["head"])):
        return "the anchor file was altered (its HMAC does not match)"
    if last is None:
        return f"the log is missing or empty, but its anchor records {a['seq']} entries"
    if a["seq"] > last["seq"]:
        return f"the log was truncated: the anchor records seq {a['seq']}, the log ends at seq {last['seq']}"
    if a["seq"] == last["seq"] and a["head"] != last["hash"]:
        return f"the log was rewritten: entry seq {a['seq']} does not hash to the anchored head"
    return None


def _ready_to_append(p: Path, last: dict | None) -> tuple[bytes, str]:
    """The anchor key and a note for the new entry; :class:`Refused` when the log is damaged."""
    a = read_anchor(p)
    if a is None and last is None:
        return (_key(p, create=True) if p.exists() else b""), ""   # a new log (the key comes with the first entry)
    key = _key(p, create=False)
    problem = _anchor_problem(p, last, key)
    if problem is None and a and last and a["seq"] < last["seq"]:
        # an append that died between writing its entry and moving the anchor (or a hand-made
        # entry): the chain up to the anchor is intact, so anchor again and say so in the log
        anchored = next((_link(e) for e in entries(p) if e["seq"] == a["seq"]), None)
        if anchored is not None and anchored["hash"] == a["head"]:
            return key, f" [re-anchored: entries seq {a['seq'] + 1}-{last['seq']} were not anchored]"
        problem = f"the log was rewritten before seq {a['seq']}"
    if problem:
        raise Refused(f"the operation log is damaged ({problem}): run 'juki audit verify'; "
                      "an administrator must restore it or record the break with 'juki audit acknowledge'")
    return key, ""


def check_ready(path: Path | None = None) -> None:
    """Refuse (before any work is done) when the log cannot take another entry: no unlogged use."""
    p = Path(path) if path else log_path()
    last = None
    if p.exists():
        with open(p, "rb") as fh:
            line = _last_line(fh)
        last = _link(json.loads(line)) if line else None
    _ready_to_append(p, last)
    if wlog.enabled() and path is None:
        wit = wlog.lines()
        if wit and (last is None or wit[-1][0] != last["seq"] or wit[-1][1] != last["hash"]):
            raise Refused(f"the operation log disagrees with its witness (the log ends at seq "
                          f"{last['seq'] if last else 'nothing'}, the witness at seq {wit[-1][0]}): "
                          "run 'juki audit verify' as root or an auditor")


def _persons_fields(p: Path, seq: int, persons) -> dict:
    if persons is None:
        return {}
    ps = sorted({str(x) for x in persons if x is not None})
    if len(ps) <= INLINE_PERSONS:
        return {"persons": ps}
    body = ("\n".join(ps) + "\n").encode()
    d = atomic.private_dir(keys_dir(p))
    name = f"{seq:08d}.keys"
    atomic.atomic_write_bytes(d / name, body)
    return {"persons_count": len(ps), "persons_digest": hashlib.sha256(body).hexdigest(), "persons_file": name}


def append(action: str, target: str, *, operator: str, os_user: str = "", role: str = "", params: dict | None = None,
           records: int | None = None, outcome: str = "ok", number_accessed: bool = False, detail: str = "",
           persons=None, flags: list | None = None, path: Path | None = None, at: dt.datetime | None = None) -> dict:
    """Append one entry (and move the anchor); refuses to write onto a damaged log."""
    p = Path(path) if path else log_path()
    atomic.private_dir(p.parent)
    old = os.umask(0o077)
    try:
        fh = open(p, "a+b")
    finally:
        os.umask(old)
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            line = _last_line(fh)
            last = _link(json.loads(line)) if line else None
            key, note = _ready_to_append(p, last)
            seq = (last["seq"] + 1) if last else 1
            entry = {"seq": seq, "at": (at or dt.datetime.now()).isoformat(timespec="seconds"),
                     "os_user": os_user, "operator": operator, "role": role, "action": action, "target": target,
                     "params": params or {}, "records": records, "number_accessed": number_accessed,
                     "outcome": outcome, "detail": (detail + note).strip(), "flags": flags or [],
                     **_persons_fields(p, seq, persons), "prev": last["hash"] if last else GENESIS}
            entry["hash"] = _hash(entry)
            fh.seek(0, os.SEEK_END)
            fh.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())
            _write_anchor(p, key, seq, entry["hash"])
            if path is None:        # the installation's own log (a scratch log has no witness)
                wlog.record(seq, entry["hash"], entry["at"])
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


def acknowledge(reason: str, *, operator: str, os_user: str, path: Path | None = None) -> dict:
    """After an incident: start a new anchored segment that records the break and its reason.

    The damaged entries stay as they are (evidence); verification reports the acknowledged break."""
    p = Path(path) if path else log_path()
    es = entries(p)
    last = _link(es[-1]) if es else None
    key = _key(p, create=True)
    a = read_anchor(p) or {}
    entry = {"seq": (last["seq"] + 1) if last else (a.get("seq", 0) + 1),
             "at": dt.datetime.now().isoformat(timespec="seconds"), "os_user": os_user, "operator": operator,
             "role": "administrator", "action": "chain_break", "target": "oplog", "params": {},
             "records": None, "number_accessed": False, "outcome": "ok", "detail": reason[:300], "flags": [],
             "break": {"anchor_seq": a.get("seq"), "anchor_head": a.get("head"),
                       "log_last_seq": last["seq"] if last else None},
             "prev": last["hash"] if last else GENESIS}
    entry["hash"] = _hash(entry)
    with open(p, "ab") as fh:
        fh.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode())
        fh.flush()
        os.fsync(fh.fileno())
    _write_anchor(p, key, entry["seq"], entry["hash"])
    if path is None:
        wlog.record(entry["seq"], entry["hash"], entry["at"])
    return entry


def entries(path: Path | None = None) -> list[dict]:
    p = Path(path) if path else log_path()
    if not p.exists():
        return []
    with open(p, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def entries_on(day: str, path: Path | None = None) -> list[dict]:
    """Entries of one day (``YYYY-MM-DD``), read from the end of the log backwards."""
    p = Path(path) if path else log_path()
    if not p.exists():
        return []
    out = []
    with open(p, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        pos, rest = fh.tell(), b""
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            fh.seek(pos)
            block = fh.read(step) + rest
            lines = block.split(b"\n")
            rest = lines[0] if pos > 0 else b""
            for raw in reversed(lines[1:] if pos > 0 else lines):
                if not raw.strip():
                    continue
                e = json.loads(raw)
                when = e.get("at", "")[:10]
                if when < day:
                    return out[::-1]
                if when == day:
                    out.append(e)
    return out[::-1]


def head(path: Path | None = None) -> dict | None:
    """{seq, hash} of the last entry (what a store records as its witness)."""
    p = Path(path) if path else log_path()
    if not p.exists():
        return None
    with open(p, "rb") as fh:
        line = _last_line(fh)
    if not line:
        return None
    return _link(json.loads(line))


def verify(path: Path | None = None, witness: dict | None = None) -> tuple[bool, str]:
    """(ok, message): the first broken link, or how many entries verified.

    ``witness`` is a {seq, hash} the store recorded (``oplog_head`` in its metadata)."""
    p = Path(path) if path else log_path()
    key = _key(p, create=False)
    if wlog.enabled() and path is None:
        if not p.exists():
            w = wlog.problem({}, None, None)
            if w:
                return False, w
    if not p.exists():
        problem = _anchor_problem(p, None, key)
        if problem:
            return False, problem
        if witness:
            return False, f"the operation log is missing, but the store recorded its entry seq {witness['seq']}"
        return True, "no operation log yet"
    prev, seq, n, breaks = GENESIS, None, 0, []
    by_seq = {}
    with open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                return False, f"line {lineno}: not a log entry"
            if e.get("hash") != _hash(e):
                return False, f"line {lineno} (seq {e.get('seq')}): entry was altered"
            if lineno == 1 and e.get("action") == "anchor":
                prev, seq = e["chain"], e["seq"]
                by_seq[seq] = e["chain"]
                continue
            if e.get("action") == "chain_break":
                breaks.append(f"seq {e['seq']} ({e.get('detail', '')})")
            elif e.get("prev") != prev:
                return False, f"line {lineno} (seq {e.get('seq')}): chain broken (an entry was removed, inserted or reordered)"
            elif seq is not None and e.get("seq") != seq + 1:
                return False, f"line {lineno}: sequence jumps from {seq} to {e.get('seq')}"
            if e.get("persons_file"):
                kf = keys_dir(p) / e["persons_file"]
                if not kf.exists():
                    return False, f"seq {e['seq']}: its list of persons {e['persons_file']} is missing"
                if hashlib.sha256(kf.read_bytes()).hexdigest() != e.get("persons_digest"):
                    return False, f"seq {e['seq']}: its list of persons was altered"
            prev, seq, n = e["hash"], e["seq"], n + 1
            by_seq[seq] = e["hash"]
    last = {"seq": seq, "hash": prev} if seq is not None else None
    if wlog.enabled() and path is None:
        w = wlog.problem(by_seq, min(by_seq) if by_seq else None, seq)
        if w:
            return False, w
    problem = _anchor_problem(p, last, key)
    if problem:
        return False, problem
    a = read_anchor(p)
    if a and last and a["seq"] < last["seq"]:
        return False, f"entries after seq {a['seq']} are not anchored (appended outside juki, or an interrupted append)"
    if witness and witness.get("seq") is not None:
        if witness["seq"] in by_seq and by_seq[witness["seq"]] != witness["hash"]:
            return False, f"the store recorded entry seq {witness['seq']} with another hash: the log was rewritten"
        if last is None or witness["seq"] > last["seq"]:
            return False, f"the store recorded entry seq {witness['seq']}, beyond the end of the log"
    msg = f"{n} entries verified, anchored at seq {seq}"
    if wlog.enabled() and path is None:
        msg += f", each matching its witness ({wlog.path()})"
    if breaks:
        msg += f"; acknowledged break(s) at {', '.join(breaks)}"
    return True, msg


def prune(before: dt.date, path: Path | None = None) -> int:
    """Drop entries older than ``before`` behind an anchor entry; returns how many were dropped.

    The anchor entry records the seq and hash of the last dropped entry (``chain``), so the entry
    after it still verifies; the dropped entries' key list files are removed too.
    """
    p = Path(path) if path else log_path()
    es = entries(p)
    old = [e for e in es if e["at"][:10] < before.isoformat()]
    if not old:
        return 0
    last = old[-1]
    keep = es[es.index(last) + 1:]
    anchor = {"seq": last["seq"], "at": dt.datetime.now().isoformat(timespec="seconds"), "action": "anchor",
              "target": "oplog", "operator": "", "os_user": "", "role": "administrator",
              "params": {"pruned_before": before.isoformat()}, "records": len(old),
              "number_accessed": False, "outcome": "ok", "detail": "", "flags": [], "prev": None,
              "chain": last.get("chain", last["hash"]) if last.get("action") == "anchor" else last["hash"]}
    anchor["hash"] = _hash(anchor)
    text = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in [anchor] + keep)
    atomic.atomic_write_text(p, text)
    for e in old:
        if e.get("persons_file"):
            atomic.remove(keys_dir(p) / e["persons_file"])
    if not keep:  # the anchor entry is now the head
        key = _key(p, create=True)
        _write_anchor(p, key, anchor["seq"], anchor["chain"])
    return len(old)


def persons_of(entry: dict, path: Path | None = None) -> list[str]:
    """The 宛名番号 an entry touched (inline or from its key list file)."""
    if "persons" in entry:
        return list(entry["persons"])
    if entry.get("persons_file"):
        p = Path(path) if path else log_path()
        kf = keys_dir(p) / entry["persons_file"]
        with contextlib.suppress(OSError):
            return kf.read_text(encoding="utf-8").split()
    return []


def touching(atena_no: str, path: Path | None = None) -> list[dict]:
    """Every entry whose use touched the person with this 宛名番号 (開示請求, incident scoping)."""
    p = Path(path) if path else log_path()
    out = []
    for e in entries(p):
        if atena_no in e.get("persons", ()):
            out.append(e)
        elif e.get("persons_file"):
            kf = keys_dir(p) / e["persons_file"]
            with contextlib.suppress(OSError):
                if atena_no in kf.read_text(encoding="utf-8").split():
                    out.append(e)
    return out


def file_digest(e: dict) -> tuple[str, str] | None:
    """(path, sha256) of the file an entry wrote, from its detail (``… <path> sha256 <hex>``)."""
    path, sep, rest = (e.get("detail") or "").rpartition(" sha256 ")
    if not sep or not rest:
        return None
    return path.split(" -> ")[-1].strip(), rest.split()[0]
