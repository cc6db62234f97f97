"""``juki`` — thin: parses, calls the rooms of the library, exits with clear one-line errors.

Exit codes: 0 ok, 1 a run failed (e.g. a notebook cell) or the log is tampered, 2 bad input or
a refusal.  Every entry point runs with umask 077 (files 0600, folders 0700).  The operator is
the OS account; ``--operator`` is accepted by the parser only to refuse it and log the attempt.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

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


def _sub(sub, name, help_):
    s = sub.add_parser(name, help=help_)
    s.add_argument("--operator", default=None, help=argparse.SUPPRESS)  # refused: the OS account is the operator
    return s


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="juki", description="住民基本台帳 analytical workbench (synthetic data only)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = _sub(sub, "layouts", "print the record layouts of the three files")
    s.add_argument("--format", choices=["json", "markdown", "ddl"], default="json")

    s = _sub(sub, "generate", "generate the synthetic city into the store")
    s.add_argument("--residents", type=_positive_int, default=None,
                   help="living residents (default: the preset's, 500000 for matsudo)")
    s.add_argument("--preset", default=None, help="a city preset (see data/README.md), e.g. matsudo, yokohama")
    s.add_argument("--seed", type=_seed, default=1)
    s.add_argument("--as-of", type=_date, default=None, help="reference date (default: today)")
    s.add_argument("--db", default=None, help="store path (default: $JUKI_DB or data/juki.duckdb)")
    s.add_argument("--force", action="store_true", help="replace an existing store (its purge records are lost)")
    s.add_argument("--chunk", type=_positive_int, default=None, help="residents generated per chunk (memory bound)")
    s.add_argument("--quiet", action="store_true", help="no progress output")

    s = _sub(sub, "run", "run a notebook through Papermill into reports/")
    s.add_argument("notebook")
    s.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    s.add_argument("--db", default=None)

    s = _sub(sub, "report", "run the monthly reports into reports/<as_of>/ with an index")
    s.add_argument("--as-of", type=_date, required=True)
    s.add_argument("--db", default=None)

    s = _sub(sub, "search", "two-of-four search for reviewers (masked, logged)")
    s.add_argument("--name")
    s.add_argument("--address")
    s.add_argument("--birth-date", help="YYYY-MM-DD, or a partial date (1991-05, 平成3年)")
    s.add_argument("--sex", choices=["1", "2"])
    s.add_argument("--db", default=None)

    s = _sub(sub, "load", "load CSV exports into the store (quarantine for bad rows), in one transaction")
    s.add_argument("paths", nargs="+", help="CSV files or folders of them")
    s.add_argument("--file", dest="table", default=None, choices=["jumin", "honnin", "sofusaki"],
                   help="which file they are (default: recognised from each header)")
    s.add_argument("--encoding", default=None, help="utf-8 or cp932 (default: detected)")
    s.add_argument("--profile", default=None, help="column-name profile (data/profiles/<name>.toml; default: PIA item names)")
    s.add_argument("--as-of", type=_date, default=None, help="reference date of the export (default: its latest 処理年月日)")
    s.add_argument("--replace", action="store_true", help="replace the tables' rows instead of appending")
    s.add_argument("--db", default=None)

    s = _sub(sub, "reconcile", "整合性確認: the 本人確認情報 against the prefecture's or J-LIS's copy, or the 住民基本台帳ファイル")
    s.add_argument("paths", nargs="*", help="the other side's 本人確認情報 CSV file(s) or folder (none with --side kizon)")
    s.add_argument("--side", required=True, choices=["prefecture", "jlis", "kizon"])
    s.add_argument("--as-of", type=_date, default=None, help="reference date (default: the store's)")
    s.add_argument("--encoding", default=None, help="utf-8 or cp932 (default: detected)")
    s.add_argument("--profile", default=None, help="column-name profile of the other side's file")
    s.add_argument("--out", default=None, help="a new folder for differences.csv and differences.html ('-': the CSV "
                                                 "to standard output; in an installation a plain name)")
    s.add_argument("--db", default=None)
    s.add_argument("--engine", default=None, help="duckdb (default, or $JUKI_ENGINE) or spark")

    s = _sub(sub, "export", "write a table as CSV for a recipient (an export profile decides the items)")
    s.add_argument("--file", dest="table", required=True, choices=["jumin", "honnin", "sofusaki"])
    s.add_argument("--out", required=True)
    s.add_argument("--profile", default="default", help="export profile (data/export_profiles/<name>.toml)")
    s.add_argument("--encoding", default="utf-8", choices=["utf-8", "utf-8-sig", "cp932"])
    s.add_argument("--dates", default="iso", choices=["iso", "yyyymmdd", "wareki", "era-code"])
    s.add_argument("--header", default="ja", choices=["ja", "id"])
    s.add_argument("--db", default=None)

    s = _sub(sub, "purge", "apply the retention policy (all rules, or --only one) as one atomic rewrite")
    s.add_argument("--only", default=None, help="one rule, e.g. sofusaki_sent (the daily 送付先情報 purge)")
    s.add_argument("--as-of", type=_date, default=None, help="purge date (default: today)")
    s.add_argument("--dry-run", action="store_true", help="count what is due; change nothing")
    s.add_argument("--policy", default=None, help="a policy file overriding the defaults (TOML)")
    s.add_argument("--if-business-day", action="store_true",
                   help="do nothing on a day the office is closed (土日祝・年末年始): for a daily cron job")
    s.add_argument("--db", default=None)

    s = _sub(sub, "publish-analysis", "publish the de-identified analysis store for analysts")
    s.add_argument("--as-of", type=_date, default=None, help="reference date (default: the store's)")
    s.add_argument("--db", default=None)
    s.add_argument("--out", default=None, help="analysis store (default: $JUKI_ANALYSIS_DB or data/analysis.duckdb)")
    s.add_argument("--engine", default=None, help="duckdb (default, or $JUKI_ENGINE) or spark")

    s = _sub(sub, "explore", "serve the analysts' explorer (Voilà) on 127.0.0.1")
    s.add_argument("--port", type=int, default=8866)
    s.add_argument("--analysis-db", default=None)
    s.add_argument("--no-browser", action="store_true")

    s = _sub(sub, "table", "a protected table of residents from the table service (perturbed; analysts' only way in)")
    s.add_argument("--area", default=None, help="a 町域 (default: 全域)")
    s.add_argument("--age", default="0-100", help="years FROM-TO (100 = 100 and over; default 0-100)")
    s.add_argument("--sex", default="男女計", choices=["男女計", "男", "女"])
    s.add_argument("--nationality", default=None, help="日本人住民, 外国人住民 or a nationality's name")
    s.add_argument("--as-of", type=_date, default=None, help="a published reference date (default: the publication's)")
    s.add_argument("--by", default="age", choices=["age"])
    s.add_argument("--threshold", type=int, default=None, help="show perturbed values below this as x")
    s.add_argument("--format", default="csv", choices=["csv", "json"])
    s.add_argument("--dates", action="store_true", help="list the published reference dates instead")

    _sub(sub, "serve-tables", "run the table service on PREFIX/run/tables.sock (the service account, in an installation)")

    s = _sub(sub, "audit", "the operation log: verify, person, operator, prune, acknowledge, review (a signed review)")
    s.add_argument("what", choices=["verify", "person", "operator", "prune", "acknowledge", "review", "erased",
                                    "request"])
    s.add_argument("--request", dest="request_no", help="with person: the request (REQ-n) this answers")
    s.add_argument("--channel", help="with request: 窓口, 郵送, 電話 or 電子")
    s.add_argument("--handler", help="with request: who handles it")
    s.add_argument("--subject", dest="subject_no", help="with request: the 宛名番号 it is about")
    s.add_argument("--description", help="with request: who or what it is about, when not a 宛名番号")
    s.add_argument("--received", type=_date, help="with request: the day it came in (default: today)")
    s.add_argument("--kind", help="with review: access-rights or log; with request: 開示請求 or 問合せ")
    s.add_argument("--signed-by", help="with review: the name of the person who reviewed and signs")
    s.add_argument("--note", help="with review: what was found and done")
    s.add_argument("--period-start", type=_date, help="with review: the first day reviewed (default: a quarter / "
                                                       "a year before --period-end)")
    s.add_argument("--period-end", type=_date, help="with review: the last day reviewed (default: today)")
    s.add_argument("subject", nargs="?", help="with person: a 宛名番号; with operator: an operator id; "
                                              "with erased: the SHA-256 of a file exported to a contractor")
    s.add_argument("--by", help="with erased: who confirmed the file was erased (name, organisation)")
    s.add_argument("--before", type=_date, help="with prune: drop entries older than this date")
    s.add_argument("--reason", help="with acknowledge: what happened to the log")
    s.add_argument("--db", default=None, help="the store whose recorded log head is checked too")

    s = _sub(sub, "followup", "set the owner / status / note of an open quality problem (reviewers; logged)")
    s.add_argument("rule", help="rule id, e.g. jumin.seibetsu.code (dq_summary.json lists them)")
    s.add_argument("key", help="the record's row key as the review lists it, e.g. 1000000015|1")
    s.add_argument("--owner")
    s.add_argument("--status", help="未対応, 対応中, 確認待ち or 対応不要")
    s.add_argument("--note")
    s.add_argument("--db", default=None)

    s = _sub(sub, "review", "the data-quality review on DuckDB or Spark: failing rows per rule (keys only)")
    s.add_argument("--files", default="jumin,honnin,sofusaki", help="files to review (table or PIA name, comma-separated)")
    s.add_argument("--as-of", type=_date, default=None, help="reference date (default: the store's)")
    s.add_argument("--db", default=None, help="store path (default: $JUKI_DB or data/juki.duckdb)")
    s.add_argument("--engine", default=None, help="duckdb (default, or $JUKI_ENGINE) or spark")
    s.add_argument("--source", default=None,
                   help="spark: a folder of <table>.parquet or db:<database> (default: the store, as Parquet)")
    s.add_argument("--out", default=None, help="a new folder for dq_summary.json and dq_violations.parquet")

    s = _sub(sub, "expectations", "regenerate the Great Expectations suites in expectations/")
    s.add_argument("--check", action="store_true", help="exit 1 if the committed suites are stale")

    s = _sub(sub, "bench", "time the main jobs and print wall time and peak memory")
    s.add_argument("--residents", default="500000", help="one size or a comma-separated list (e.g. 500000,1000000)")
    s.add_argument("--seed", type=_seed, default=1)
    s.add_argument("--steps", default=None, help="comma-separated steps (default: all)")
    s.add_argument("--rows", default=None, help="with the load step: export sizes to load (default 500000)")
    s.add_argument("--db", default=None, help="store for the benchmark (default: bench/bench.duckdb)")
    s.add_argument("--engine", default="duckdb", help="with the step 'engines': duckdb, spark or both (duckdb,spark)")
    return p


def cmd_layouts(a) -> int:
    from .layouts import render
    out = {"json": render.as_json, "markdown": render.as_markdown, "ddl": render.all_ddl}[a.format]()
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def _progress(quiet: bool):
    """A progress callback: a tqdm bar on a terminal, plain lines in logs."""
    from .progress import Progress
    return Progress(quiet=quiet)


def cmd_generate(a) -> int:
    from .synth import generate_store
    path, rows = generate_store(residents=a.residents, preset=a.preset, seed=a.seed, as_of=a.as_of, db=a.db,
                                force=a.force, chunk=a.chunk, progress=_progress(a.quiet))
    print(f"generated {rows['residents']:,} residents as of {rows['as_of']} (seed {a.seed}) into {path}: "
          + ", ".join(f"{k} {v:,}" for k, v in rows["tables"].items())
          + f" (writing {rows['seconds']['insert']:.0f} s, city-wide sequences {rows['seconds']['finish']:.0f} s)")
    return 0


def cmd_run(a) -> int:
    from .reports.runner import run_notebook
    db = a.db
    if db is not None and not os.path.exists(db):
        raise JukiError(f"no store at {db}")
    res = run_notebook(a.notebook, [tuple(x) for x in a.parameter], db=db, flag=a.operator)
    from .server import share_report
    share_report(res.folder)
    if res.ok:
        print(f"ok: {res.html} ({res.seconds:.1f} s)")
        return 0
    print(f"juki: run failed: {res.error} (see {res.folder})", file=sys.stderr)
    return 1


def cmd_report(a) -> int:
    from .reports.report import build
    folder, ok = build(a.as_of, db=a.db, flag=a.operator, progress=_progress(False))
    from .server import share_report
    share_report(folder)
    if ok:
        print(f"ok: {folder / 'index.html'}")
        return 0
    print(f"juki: report incomplete: see {folder / 'index.html'}", file=sys.stderr)
    return 1


def cmd_search(a) -> int:
    from . import store
    from .access import guard
    from .search import search
    guard.require("search", "jumin+honnin")     # the role first: one line naming the search, logged
    con = store.connect(a.db)
    df = search(con, name=a.name, address=a.address, birth_date=a.birth_date, sex=a.sex)
    print(df.to_string(index=False) if len(df) else "該当なし")
    return 0


def cmd_load(a) -> int:
    from .access import guard
    from .ingest import load_files
    guard.identify("load", "store", flag=a.operator)
    reports = load_files(a.paths, table=a.table, db=a.db, encoding=a.encoding, replace=a.replace,
                         profile=a.profile, as_of=a.as_of)
    for rep in reports.files:
        print(rep)
    for w in reports.warnings:
        print(f"juki: warning: {w}", file=sys.stderr)
    return 0


def cmd_reconcile(a) -> int:
    from . import outputs
    from .access import guard
    from .reconcile import reconcile
    guard.identify("reconcile", a.side, flag=a.operator)
    folder = outputs.target(a.out) if a.out else None
    res = reconcile(a.paths, a.side, as_of=a.as_of, db=a.db, encoding=a.encoding, profile=a.profile, engine=a.engine)
    if a.out == outputs.STDOUT:
        sys.stdout.write(res.differences.to_csv(index=False))
    elif folder is not None:
        import shutil

        from . import atomic
        tmp = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        res.write(tmp)
        try:
            atomic.claim_dir(tmp, folder)
        except FileExistsError:
            raise JukiError(f"--out {a.out}: exists already: outputs are created new, never written over") from None
        print(f"wrote {folder / 'differences.csv'} and differences.html", file=sys.stderr)
    print(res.line(), file=sys.stderr if a.out == outputs.STDOUT else sys.stdout)
    return 0


def cmd_export(a) -> int:
    from .access import guard
    from .ingest import export
    guard.identify("export", a.table, flag=a.operator)
    res = export(a.table, a.out, db=a.db, profile=a.profile, encoding=a.encoding, dates=a.dates, header=a.header)
    print(f"wrote {res.rows:,} rows of {a.table} for {res.recipient} ({len(res.items)} items) to "
          f"{res.path or 'standard output'} (sha256 {res.sha256})", file=sys.stderr if res.path is None else sys.stdout)
    return 0


def cmd_purge(a) -> int:
    from .access import guard
    from .retention import apply, load, plan
    op = guard.identify("purge", "retention", flag=a.operator)[0]
    if a.policy:
        from . import server
        if server.installation() is not None:
            guard.refuse("purge", "retention", "--policy is not accepted in an installation: the retention policy "
                         "is root's configuration (etc/retention.toml)")
        guard.require("custom_config", "retention policy", params={"policy": a.policy})
    policy = load(a.policy)
    today = dt.date.today()
    as_of = a.as_of or today
    if as_of > today and not a.dry_run:
        with guard.entry("purge", "retention", params={"as_of": as_of.isoformat()}):
            raise JukiError(f"--as-of {as_of} is after today ({today}): a real purge erases only what is due "
                            "today (use --dry-run to see what a later date would purge)")
    if a.if_business_day:
        from .businessdays import is_business_day
        if not is_business_day(as_of):
            print(f"{as_of} is not a business day (開庁日): nothing to do")
            return 0
    if a.dry_run:
        guard.require("purge_plan", "retention")
        res = plan(a.db, as_of, policy, only=a.only)
    else:
        res = apply(a.db, as_of, operator=op.id, policy=policy, only=a.only)
    for r in res.rules:
        if not r.skipped:
            print(f"{r.rule}: {r.due:,} rows {'due' if res.dry_run else 'purged'} (on or before {r.cutoff})")
    print("store rewritten" if res.changed else ("dry run: nothing changed" if res.dry_run else "nothing due"))
    return 0


def cmd_publish(a) -> int:
    from .access import guard
    from .analysis.publish import publish
    guard.identify("publish_analysis", "analysis", flag=a.operator)
    res = publish(db=a.db, as_of=a.as_of, out=a.out, engine=a.engine)
    print(f"published {res['path']} as of {res['as_of']} ({res['persons']:,} persons, reference dates "
          f"{', '.join(res['ref_dates'])})")
    return 0


def cmd_table(a) -> int:
    import json

    from . import tables
    if a.dates:
        ds, own = tables.dates()
        print(json.dumps({"ref_dates": ds, "as_of": own}) if a.format == "json" else "\n".join(ds))
        return 0
    try:
        lo, hi = (int(x) for x in a.age.split("-", 1))
    except ValueError:
        raise JukiError(f"--age {a.age!r}: give FROM-TO in years, e.g. 20-39") from None
    req = tables.request(a.area, (lo, hi), a.sex, a.nationality, a.as_of, a.by, a.threshold)
    df, caption = tables.answer(req)
    sys.stdout.write(tables.to_json(df, caption) + "\n" if a.format == "json" else tables.csv_text(df, caption))
    return 0


def cmd_serve_tables(a) -> int:
    from .tableservice import serve
    return serve(main)


def cmd_explore(a) -> int:
    from . import tables
    from .access import guard
    from .analysis.explore_app import serve
    if not tables.remote():       # in an installation the service identifies the analyst at the first query
        guard.identify("explore", "explorer", flag=a.operator)
    return serve(port=a.port, analysis_db=a.analysis_db, open_browser=not a.no_browser)


def cmd_audit(a) -> int:
    from . import store
    from .access import guard
    from .log import oplog
    if a.what == "verify":
        guard.require("audit_verify", "oplog")
        ok, msg = oplog.verify(witness=store.recorded_log_head(a.db))
        print(("ok: " if ok else "juki: audit: TAMPERED: ") + msg, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    if a.what in ("person", "operator"):
        from .audit.access_audit import uses_of_operator, uses_of_person
        if not a.subject:
            raise JukiError(f"audit {a.what} needs a {'宛名番号' if a.what == 'person' else 'operator id'}")
        params = None
        if a.request_no:
            from .audit.requests import check_open
            check_open(a.request_no)
            params = {"request": a.request_no}
        with guard.entry("audit_read", f"audit {a.what}", params=params, flag=a.operator) as g:
            if a.what == "person":
                df = uses_of_person(a.subject)
                g.persons = [a.subject]
            else:
                df = uses_of_operator(a.subject)
            g.records = len(df)
        print(df.to_string(index=False) if len(df) else "該当なし")
        return 0
    if a.what == "erased":
        from .audit.signoff import confirm_erased
        e = confirm_erased(a.subject, a.by, flag=a.operator)
        print(f"recorded the erasure of {e['params']['sha256'][:16]}… confirmed by {e['params']['by']} (seq {e['seq']})")
        return 0
    if a.what == "request":
        from .audit.requests import record
        print(record(a.kind, a.channel, a.handler, a.subject_no or a.subject, a.description, a.received,
                     flag=a.operator))
        return 0
    if a.what == "review":
        if a.kind not in ("access-rights", "log"):
            raise JukiError("audit review needs --kind access-rights or log")
        from .audit.signoff import sign
        e = sign(a.kind, a.signed_by, a.note, a.period_start, a.period_end, flag=a.operator)
        print(f"recorded the signed {a.kind} review of {e['params']['period_start']}..{e['params']['period_end']} "
              f"(report sha256 {e['params']['report_sha256'][:12]}…) as entry seq {e['seq']}")
        return 0
    if a.what == "acknowledge":
        if not a.reason:
            raise JukiError("audit acknowledge needs --reason (what happened to the log)")
        op, account = guard.identify("audit_prune", "oplog", flag=a.operator)
        from .access import roles
        roles.check(op, "audit acknowledge", roles.needs("audit_prune"))
        e = oplog.acknowledge(a.reason, operator=op.id, os_user=account)
        print(f"recorded the break as entry seq {e['seq']}")
        return 0
    if not a.before:
        raise JukiError("audit prune needs --before DATE")
    from .retention import load as retention_policy
    rule = retention_policy(None).rule("oplog_erase")        # the city's period (at least a year: the PIA)
    floor = rule.cutoff(dt.date.today()) + dt.timedelta(days=1)
    if a.before > floor:
        raise JukiError(f"operation logs are kept {rule.period} (retention policy {rule.id}): --before must be "
                        f"on or before {floor}")
    with guard.entry("audit_prune", "oplog", params={"before": a.before.isoformat()}, flag=a.operator) as g:
        g.records = oplog.prune(a.before)
    print(f"pruned {g.records} entries")
    return 0


def cmd_followup(a) -> int:
    from .quality import followup
    if not (a.owner or a.status or a.note):
        raise JukiError("followup needs --owner, --status or --note")
    followup.annotate(a.rule, a.key, followup.path_for(a.db), owner=a.owner, status=a.status, note=a.note)
    print(f"recorded for {a.rule} {a.key}")
    return 0


def cmd_review(a) -> int:
    from . import engine, residency, store
    from .access import guard
    from .quality.review import review
    eng = engine.choose(a.engine)
    guard.identify("review", a.files, params={"engine": eng}, flag=a.operator)
    if a.out and Path(a.out).exists():
        raise JukiError(f"--out {a.out}: exists already: outputs are created new, never written over")
    as_of = a.as_of
    if as_of is None:
        if a.source:
            raise JukiError("--source: give the reference date with --as-of")
        con = store.connect(a.db)
        try:
            as_of = residency.reference_date(con)
        finally:
            con.disconnect()
    with store.registry(eng, a.db, a.source) as con:
        rv = review(con, a.files, as_of)
    if a.out:
        from . import atomic
        tmp = Path(a.out).with_name(f".{Path(a.out).name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, mode=0o700)
        rv.write(tmp)
        try:
            atomic.claim_dir(tmp, Path(a.out))
        except FileExistsError:
            raise JukiError(f"--out {a.out}: exists already: outputs are created new, never written over") from None
    counts = rv.counts()
    for r in rv.rules():
        if counts.get(r.id):
            print(f"{r.id}\t{counts[r.id]}")
    print(f"{eng}: {len(rv.rules())} rules over {', '.join(rv.tables)} on {rv.as_of}: "
          f"{sum(1 for r in rv.rules() if counts.get(r.id))} with failures, {sum(counts.values()):,} failing rows "
          f"({rv.timings.get('rules_s', 0):.1f} s)", file=sys.stderr)
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


COMMANDS = {"layouts": cmd_layouts, "generate": cmd_generate, "run": cmd_run, "bench": cmd_bench,
            "expectations": cmd_expectations, "review": cmd_review, "report": cmd_report, "search": cmd_search, "audit": cmd_audit,
            "load": cmd_load, "reconcile": cmd_reconcile, "export": cmd_export, "purge": cmd_purge, "publish-analysis": cmd_publish,
            "explore": cmd_explore, "followup": cmd_followup, "table": cmd_table,
            "serve-tables": cmd_serve_tables}


#: Options naming a file, which an installation decides for itself (the service account could
#: otherwise be pointed at its own log, keys or configuration).
_PATH_OPTIONS = ("db", "analysis_db", "policy")


def _installation_checks(a) -> None:
    from .server import installation
    inst = installation()
    if inst is None:
        return
    from .access import guard
    for opt in _PATH_OPTIONS:
        if getattr(a, opt, None):
            guard.refuse(a.command, "cli", f"--{opt.replace('_', '-')} is not accepted in an installation: it uses "
                         f"its own stores and configuration under {inst.prefix}", {opt: str(getattr(a, opt))[:200]})
    if inst.is_service() and a.command != "audit":
        from .access import configwatch
        from .log import oplog
        from .server import caller
        oplog.check_ready()         # a damaged, rolled-back or unwitnessed log: nothing happens (audit excepted)
        configwatch.check(caller()[0])
        from .access import grants
        grants.record(caller()[0])  # role grants, changes and revocations, whatever their source
    if a.command == "publish-analysis" and a.out:
        guard.refuse(a.command, "cli", "--out is not accepted by publish-analysis in an installation: the analysis "
                     f"store is {inst.data / 'analysis.duckdb'}", {"out": a.out[:200]})


def main(argv=None) -> int:
    old = os.umask(0o077)        # what juki writes is its owner's; a caller's own mask comes back after
    try:
        return _main(argv)
    finally:
        os.umask(old)


def _main(argv=None) -> int:
    try:
        a = build_parser().parse_args(argv)
        _installation_checks(a)
        if a.operator or os.environ.get("JUKI_OPERATOR"):
            from .access import guard
            guard.identify(a.command, "cli", flag=a.operator)  # refuses and logs the attempt
        return COMMANDS[a.command](a)
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
