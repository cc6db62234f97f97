"""The log's witness: a copy of each entry's (seq, hash) that the log's keepers cannot rewrite.

In an installation (``bin/setup-server``) the service account writes the operation log, and
anyone who can act as that account could rewrite the log, re-hash its chain and re-MAC its
anchor with the key beside it.  So every append also hands (seq, hash, time) to
``PREFIX/libexec/juki-witness``, which sudo runs as a separate witness account: it only appends,
only with a seq after the last one it holds, to ``PREFIX/witness/oplog.witness`` (owned by the
witness account, readable by all; root also marks it append-only where the file system allows).
Neither the service account nor juki's administrators can change a line once written.

:func:`problem` compares the log with the witness: an entry whose hash differs (the log was
rewritten from there), entries the witness holds and the log does not (a truncation, a deletion
or a rollback of the data folder from a backup), entries the log holds and the witness does not
(appended outside juki), each with the time the witness recorded, so the message says since
when.  In a single-user checkout there is no witness; the HMAC anchor and the store's recorded
head remain the checks there.
"""
from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from ..access.roles import Refused


def _inst():
    from ..server import installation
    return installation()


def enabled() -> bool:
    inst = _inst()
    return inst is not None and inst.witness_program.exists()


def path() -> Path | None:
    inst = _inst()
    return inst.witness_file if inst is not None else None


def record(seq: int, digest: str, at: str) -> None:
    """Hand one entry to the witness; :class:`Refused` when it does not take it."""
    inst = _inst()
    if inst is None or not inst.witness_program.exists():
        return
    at = at[:19]
    try:
        p = subprocess.run(["/usr/bin/sudo", "-n", "-u", inst.witness, str(inst.witness_program), str(seq), digest, at],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Refused(f"the log's witness could not be reached ({e}): the use is refused") from None
    if p.returncode != 0:
        why = (p.stderr.strip().splitlines() or ["no answer"])[-1]
        raise Refused(f"the log's witness refused entry seq {seq} ({why}): the log was rolled back or "
                      "rewritten; run 'juki audit verify' as root or an auditor")


def lines(p: Path | None = None) -> list[tuple[int, str, str]]:
    """(seq, hash, witnessed at) in the order the witness took them."""
    p = p or path()
    if p is None or not p.exists():
        return []
    out = []
    for raw in p.read_text(encoding="ascii", errors="replace").splitlines():
        parts = raw.split()
        if len(parts) >= 3 and parts[0].isdigit():
            out.append((int(parts[0]), parts[1], parts[3] if len(parts) > 3 else parts[2]))
    return out


def problem(links: dict[int, str], first_seq: int | None, last_seq: int | None,
            p: Path | None = None, keep_days: int = 366) -> str | None:
    """Why the log (``links``: seq -> hash; entries before ``first_seq`` were pruned) disagrees
    with its witness, naming the first entry concerned and since when; None when they agree."""
    wit = lines(p)
    if not wit:
        if links:
            return f"the witness holds no entry, but the log has entries from seq {first_seq}: the witness was bypassed"
        return None
    seen: dict[int, tuple[str, str]] = {}
    for seq, h, at in wit:
        if seq in seen and seen[seq][0] != h:
            return f"the witness holds two hashes for seq {seq}"
        seen.setdefault(seq, (h, at))
    w_last = max(seen)
    if last_seq is None:
        return (f"the operation log is missing or empty, but the witness holds entries up to seq {w_last} "
                f"(since {seen[min(seen)][1]}): the log was deleted or the data folder rolled back")
    for seq in sorted(links):
        if seq in seen and seen[seq][0] != links[seq]:
            return (f"entry seq {seq} differs from its witness (witnessed {seen[seq][1]}): "
                    f"the log was rewritten from seq {seq}")
    if w_last > last_seq:
        gone = min(s for s in seen if s > last_seq)
        return (f"the log ends at seq {last_seq}, but the witness holds entries up to seq {w_last}: "
                f"entries from seq {gone} (witnessed {seen[gone][1]}) were removed -- truncated, deleted "
                "or the data folder rolled back")
    if first_seq is not None and first_seq > min(seen):
        # the log starts behind a prune's anchor entry: only entries past their retention may go
        cutoff = (dt.datetime.now() - dt.timedelta(days=keep_days)).isoformat(timespec="seconds")
        young = [s for s in sorted(seen) if s <= first_seq and seen[s][1] > cutoff]
        if young:
            return (f"entries from seq {young[0]} (witnessed {seen[young[0]][1]}) are gone from the log although "
                    f"they are younger than the {keep_days} days logs are kept: removed, not pruned")
    missing = [s for s in sorted(links) if s not in seen and (first_seq is None or s > first_seq)]
    if missing:
        return f"entries from seq {missing[0]} were never witnessed: appended outside juki"
    return None
