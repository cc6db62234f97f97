"""``juki`` — thin: parses, calls the rooms of the library, exits with clear one-line errors.

Exit codes: 0 ok, 1 a run failed (e.g. a notebook cell), 2 bad input.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from .errors import JukiError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise JukiError(message)


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of residents (got {v})")
    if v > 20_000_000:
        raise argparse.ArgumentTypeError(f"{v:,} residents is beyond one machine (max 20,000,000)")
    return v


def _seed(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return v


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a valid date (YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="juki", description="住民基本台帳 analytical workbench (synthetic data only)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("layouts", help="print the record layouts of the three files")
    s.add_argument("--format", choices=["json", "markdown", "ddl"], default="json")

    s = sub.add_parser("generate", help="generate the synthetic city into the store")
    s.add_argument("--residents", type=_positive_int, default=500_000, help="living residents (default 500000)")
    s.add_argument("--seed", type=_seed, default=1)
    s.add_argument("--as-of", type=_date, default=None, help="reference date (default: today)")
    s.add_argument("--db", default=None, help="store path (default: $JUKI_DB or data/juki.duckdb)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("run", help="run a notebook through Papermill into reports/")
    s.add_argument("notebook")
    s.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    s.add_argument("--db", default=None)
    s.add_argument("--operator", default=None, help="who runs it (default: $JUKI_OPERATOR or system)")

    s = sub.add_parser("report", help="run the manager reports into reports/<as_of>/ with an index")
    s.add_argument("--as-of", type=_date, required=True)
    s.add_argument("--db", default=None)
    s.add_argument("--operator", default=None)

    s = sub.add_parser("search", help="two-of-four search for reviewers (masked, logged)")
    s.add_argument("--name")
    s.add_argument("--address")
    s.add_argument("--birth-date", type=_date)
    s.add_argument("--sex", choices=["1", "2"])
    s.add_argument("--db", default=None)
    s.add_argument("--operator", default=None)

    s = sub.add_parser("load", help="load a CSV export into a table (quarantine for bad rows)")
    s.add_argument("path")
    s.add_argument("--file", dest="table", required=True, choices=["jumin", "honnin", "sofusaki"])
    s.add_argument("--encoding", default=None, help="utf-8 or cp932 (default: detected)")
    s.add_argument("--replace", action="store_true", help="replace the table's rows instead of appending")
    s.add_argument("--db", default=None)
    s.add_argument("--operator", default=None)

    s = sub.add_parser("export", help="write a table as CSV (the forms the loader reads)")
    s.add_argument("--file", dest="table", required=True, choices=["jumin", "honnin", "sofusaki"])
    s.add_argument("--out", required=True)
    s.add_argument("--encoding", default="utf-8", choices=["utf-8", "utf-8-sig", "cp932"])
    s.add_argument("--dates", default="iso", choices=["iso", "yyyymmdd", "wareki", "era-code"])
    s.add_argument("--header", default="ja", choices=["ja", "id"])
    s.add_argument("--db", default=None)
    s.add_argument("--operator", default=None)

    s = sub.add_parser("audit", help="the operation log")
    s.add_argument("what", choices=["verify", "prune"])
    s.add_argument("--before", type=_date, help="with prune: drop entries older than this date")

    s = sub.add_parser("expectations", help="regenerate the Great Expectations suites in expectations/")
    s.add_argument("--check", action="store_true", help="exit 1 if the committed suites are stale")

    s = sub.add_parser("bench", help="time the main jobs and print wall time and peak memory")
    s.add_argument("--residents", type=_positive_int, default=500_000)
    s.add_argument("--seed", type=_seed, default=1)
    s.add_argument("--steps", default="generate,overview,quality,quality_rules,statistics,statistics_queries,purge,report,load",
                   help="comma-separated steps (default: all)")
    s.add_argument("--db", default=None, help="store for the benchmark (default: bench/bench.duckdb)")
    return p


def cmd_layouts(a) -> int:
    from .layouts import render
    out = {"json": render.as_json, "markdown": render.as_markdown, "ddl": render.all_ddl}[a.format]()
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def cmd_generate(a) -> int:
    from . import store
    from .synth import generate as gen
    from .synth.registry import MIN_AS_OF, Params

    as_of = a.as_of or dt.date.today()
    if as_of < MIN_AS_OF:
        raise JukiError(f"--as-of {as_of} is too early: the history needs ten years of individual numbers "
                        f"(on or after {MIN_AS_OF})")
    if as_of > dt.date(2100, 12, 31):
        raise JukiError(f"--as-of {as_of} is too far in the future")
    path = store.db_path(a.db)
    store.check_writable(path)
    params = Params(residents=a.residents, seed=a.seed, as_of=as_of)
    bar = None
    tty = sys.stderr.isatty()
    if not a.quiet and tty:
        from tqdm import tqdm
        bar = tqdm(total=5, desc="generate", unit="step", file=sys.stderr, leave=False)

    def progress(step, done, total):
        if bar is not None:
            bar.set_description(f"generate: {step}")
            bar.n = done
            bar.refresh()
        elif not a.quiet:
            print(f"generate: {step} ({done + 1}/{total})", file=sys.stderr, flush=True)

    tables = gen(params, progress)
    if bar is not None:
        bar.set_description("generate: writing store")
        bar.n = 5
        bar.refresh()
        bar.close()
    meta = {"source": "synthetic", "residents": a.residents, "seed": a.seed, "as_of": as_of.isoformat(),
            "rows": {k: v.num_rows for k, v in tables.items()}}
    store.write_registry(tables, path, meta)
    rows = ", ".join(f"{k} {v.num_rows:,}" for k, v in tables.items())
    print(f"generated {a.residents:,} residents as of {as_of} (seed {a.seed}) into {path}: {rows}")
    return 0


def cmd_run(a) -> int:
    from .reports.runner import run_notebook
    db = a.db
    if db is not None and not os.path.exists(db):
        raise JukiError(f"no store at {db}")
    res = run_notebook(a.notebook, [tuple(x) for x in a.parameter], db=db, operator=a.operator)
    if res.ok:
        print(f"ok: {res.html} ({res.seconds:.1f} s)")
        return 0
    print(f"juki: run failed: {res.error} (see {res.folder})", file=sys.stderr)
    return 1


def cmd_report(a) -> int:
    from .reports.report import build
    folder, ok = build(a.as_of, db=a.db, operator=a.operator)
    if ok:
        print(f"ok: {folder / 'index.html'}")
        return 0
    print(f"juki: report incomplete: see {folder / 'index.html'}", file=sys.stderr)
    return 1


def cmd_search(a) -> int:
    from . import store
    from .audit.search import search
    con = store.connect(a.db)
    df = search(con, name=a.name, address=a.address, birth_date=a.birth_date, sex=a.sex, operator=a.operator)
    print(df.to_string(index=False) if len(df) else "該当なし")
    return 0


def cmd_load(a) -> int:
    from .ingest import load
    rep = load(a.path, a.table, db=a.db, encoding=a.encoding, replace=a.replace, operator=a.operator)
    print(rep)
    return 0


def cmd_export(a) -> int:
    from .ingest import export
    n = export(a.table, a.out, db=a.db, encoding=a.encoding, dates=a.dates, header=a.header, operator=a.operator)
    print(f"wrote {n:,} rows of {a.table} to {a.out}")
    return 0


def cmd_audit(a) -> int:
    from .audit import oplog
    if a.what == "verify":
        ok, msg = oplog.verify()
        print(("ok: " if ok else "juki: audit: TAMPERED: ") + msg, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    if not a.before:
        raise JukiError("audit prune needs --before DATE")
    floor = dt.date.today() - dt.timedelta(days=366)
    if a.before > floor:
        raise JukiError(f"operation logs are kept at least one year: --before must be on or before {floor}")
    print(f"pruned {oplog.prune(a.before)} entries")
    return 0


def cmd_expectations(a) -> int:
    from .quality import gx
    if a.check:
        stale = gx.stale_suites()
        if stale:
            print(f"juki: stale suites: {', '.join(stale)} (run 'juki expectations')", file=sys.stderr)
            return 1
        print("suites are current")
        return 0
    for p in gx.write_suites():
        print(f"wrote {p}")
    return 0


def cmd_bench(a) -> int:
    from .bench import run_bench
    return run_bench(a)


def main(argv=None) -> int:
    try:
        a = build_parser().parse_args(argv)
        return {"layouts": cmd_layouts, "generate": cmd_generate, "run": cmd_run,
                "bench": cmd_bench, "expectations": cmd_expectations, "report": cmd_report,
                "search": cmd_search, "audit": cmd_audit, "load": cmd_load, "export": cmd_export}[a.command](a)
    except JukiError as e:
        print(f"juki: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("juki: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure: one line, traceback on request
        if os.environ.get("JUKI_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"juki: internal error: {type(e).__name__}: {msg} (set JUKI_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
