"""Signed reviews: a person records that they reviewed access rights (quarterly) or the
operation log (yearly), for a period, against a report they name by its digest.

PIA: 「定期的(四半期に1度)に確認」 (access rights) and 「1年に1回程度、記録事項に問題がないか点検」
(the log).  A scheduled report is evidence that the material was prepared, not that anyone read
it; the self-inspection's review items pass only on an entry written here
(``audit_review``: kind, signed by, note, period, the reviewed report's path and SHA-256).
"""
from __future__ import annotations

import datetime as dt

from ..errors import JukiError

KINDS = {"access-rights": 92, "log": 365}     # the default period reviewed, in days
REPORT = "05_access_audit"


def last_report(entries: list[dict], end: dt.date) -> tuple[str, str] | None:
    """(html path, sha256) of the last access-audit report produced on or before ``end``."""
    from ..log.oplog import file_digest
    for e in reversed(entries):
        if e.get("action") == "run" and e.get("target") == REPORT and e.get("outcome") == "ok" \
                and e.get("at", "")[:10] <= end.isoformat() and file_digest(e):
            return file_digest(e)
    return None


def sign(kind: str | None, signed_by: str | None, note: str | None, start: dt.date | None = None,
         end: dt.date | None = None, flag=None) -> dict:
    """Record a signed review (logged entry ``audit_review``); returns the entry."""
    from ..access import guard
    from ..log import oplog
    if kind not in KINDS:
        raise JukiError(f"audit review needs --kind {' or '.join(KINDS)}")
    if not signed_by or not signed_by.strip():
        raise JukiError("audit review needs --signed-by NAME (the person who reviewed)")
    if not note or not note.strip():
        raise JukiError("audit review needs --note (what was found and done)")
    end = end or dt.date.today()
    start = start or end - dt.timedelta(days=KINDS[kind])
    if start > end or end > dt.date.today():
        raise JukiError(f"review period {start}..{end}: the start must not be after the end, nor the end after today")
    report = last_report(oplog.entries(), end)
    if report is None:
        raise JukiError(f"no {REPORT} report to review up to {end}: run it first (juki run {REPORT})")
    params = {"kind": kind, "signed_by": signed_by.strip()[:80], "note": note.strip()[:300],
              "period_start": start.isoformat(), "period_end": end.isoformat(),
              "report": report[0][:200], "report_sha256": report[1]}
    with guard.entry("audit_review", kind, params=params, flag=flag) as g:
        g.detail = f"signed by {params['signed_by']}: {params['note']}"[:300]
    return g.entry


def signed(entries: list[dict], kind: str, end: dt.date) -> list[dict]:
    """Signed reviews of ``kind`` whose reviewed period ends on or before ``end``, by a person
    (never the scheduler), in the order of their periods."""
    out = [e for e in entries if e.get("action") == "audit_review" and e.get("target") == kind
           and e.get("outcome") == "ok" and e.get("role") != "scheduler"
           and (e.get("params") or {}).get("signed_by") and e["params"].get("period_end", "9") <= end.isoformat()]
    return sorted(out, key=lambda e: e["params"]["period_end"])


def confirm_erased(digest: str | None, by: str | None, flag=None) -> dict:
    """Record that a file handed to a contractor (an export with an erasure date) was erased."""
    import re

    from ..access import guard
    from ..log import oplog
    digest = (digest or "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise JukiError("audit erased needs the file's SHA-256 (64 hex digits, as the export printed it)")
    if not by or not by.strip():
        raise JukiError("audit erased needs --by NAME (who confirmed the erasure)")
    ex = [e for e in oplog.entries() if e.get("action") == "export" and e.get("outcome") == "ok"
          and (oplog.file_digest(e) or ("", ""))[1] == digest]
    if not ex:
        raise JukiError(f"no export with sha256 {digest[:16]}… in the operation log")
    if not (ex[-1].get("params") or {}).get("erase_by"):
        raise JukiError("that export went to a recipient that is not a contractor: it has no erasure to confirm")
    params = {"sha256": digest, "by": by.strip()[:120], "export_seq": ex[-1]["seq"]}
    with guard.entry("export_erased", digest[:16], params=params, flag=flag) as g:
        g.detail = f"erasure confirmed by {params['by']}"
    return g.entry
