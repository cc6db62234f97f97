"""Running the data-quality review: every rule of the chosen files over their rule bases, on
whichever engine the connection is (DuckDB or Spark), then GX's check of the outcome.
"""
from __future__ import annotations

import datetime as dt
import time

from .. import engine, residency
from ..errors import JukiError
from ..layouts import LAYOUTS, get
from .engine import violations
from .outcome import Review
from .rules import get_rule, rules_for


def parse_files(files) -> tuple[str, ...]:
    if isinstance(files, str):
        files = [f.strip() for f in files.split(",") if f.strip()]
    out = []
    for f in files:
        try:
            out.append(next(t for t, lay in LAYOUTS.items() if f in (t, lay.file)))
        except StopIteration:
            raise JukiError(f"unknown file {f!r}; known: {', '.join(LAYOUTS)}") from None
    if not out:
        raise JukiError("no file to check")
    return tuple(dict.fromkeys(out))


def review(con, files="jumin,honnin,sofusaki", as_of: dt.date | None = None, use_gx: bool = True) -> Review:
    tables = parse_files(files)
    as_of = residency.reference_date(con, as_of)
    con = engine.backend(con)
    counts = {t: int(con.table(t).count().execute()) for t in LAYOUTS}
    missing = {t for t, n in counts.items() if n == 0}
    not_evaluated = {}
    t0 = time.perf_counter()
    viol = {}
    for t in tables:
        rules = []
        for r in rules_for(t):
            lacking = [x for x in r.needs if x in missing]
            if lacking:
                not_evaluated[r.id] = "ストアに" + "・".join(get(x).file for x in lacking) + "がない"
            else:
                rules.append(r)
        viol[t] = violations(con, t, as_of, rules)
    t1 = time.perf_counter()
    residents = int(residency.residents(con.table("jumin"), as_of).count().execute())
    rv = Review(as_of=as_of, tables=tables, violations=viol, row_counts={t: counts[t] for t in tables},
                residents=residents, not_evaluated=not_evaluated)
    rv.timings["rules_s"] = round(t1 - t0, 3)
    rv.timings["engine"] = getattr(con, "name", "duckdb")
    if use_gx:
        from .gx import validate
        t2 = time.perf_counter()
        rv.gx = validate(viol, getattr(con, "_session", None) if getattr(con, "name", "") == "pyspark" else None)
        rv.timings["gx_validate_s"] = round(time.perf_counter() - t2, 3)
        cross_check(rv)
    return rv


def cross_check(rv: Review) -> None:
    """GX's unexpected count of every rule class must equal the DuckDB count of that class.

    GX reports counts, never the failing values (its value lists are capped, and values are
    not needed): the per-rule counts are DuckDB's, whose class totals GX confirms.
    """
    c = rv.counts()
    for t, res in (rv.gx or {}).items():
        for kind, got in res["by_class"].items():
            want = sum(n for rid, n in c.items() if rid.startswith(t + ".") and get_rule(rid).kind == kind)
            if got != want:
                raise RuntimeError(f"GX and DuckDB disagree on {t} {kind}: {got} vs {want}")


def follow_up(rv: Review, db=None, record: bool = False):
    """New / still open / resolved problems against the follow-up record beside the store
    (:mod:`.followup`); ``record`` (the scheduled report) also moves the record forward."""
    from . import followup
    path = followup.path_for(db)
    if record:
        from ..access import guard
        guard.require("followup_record", "quality follow-up")
        return followup.record(rv.violations, rv.as_of, path)
    return followup.compare(rv.violations, rv.as_of, path)
