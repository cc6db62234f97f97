"""``juki bench``: wall time and peak memory of each job at each city size.

Each step is one ``juki`` command run in its own child process, exactly as an operator would
run it; the parent reads the child's peak resident memory from ``wait4`` (the largest single
process of the step, the notebook kernel included).  Results go to ``bench/results.json``
(keyed by size, with the machine) and ``bench/scaling.png``; ``bench/README.md`` explains them.

>>> [s.name for s in STEPS][:4]
['generate', 'review', 'publish', 'ckm']
>>> per_resident({"wall_s": 50.0, "peak_mib": 1000.0}, 500_000)
{'us_per_resident': 100.0, 'kib_per_resident': 2.05}
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import atomic, paths
from .errors import JukiError

AS_OF = "2026-04-01"


@dataclass(frozen=True)
class Ctx:
    folder: Path          # bench/
    db: Path              # the bench city's registry store
    residents: int
    seed: int
    rows: tuple           # load sizes

    @property
    def analysis(self) -> Path:
        return self.db.with_name("bench-analysis.duckdb")


@dataclass(frozen=True)
class Step:
    name: str
    what: str
    command: Callable[[Ctx], list]          # the juki arguments
    prepare: Callable[[Ctx], None] | None = None


def _juki(*args) -> list:
    return [sys.executable, "-m", "juki", *map(str, args)]


def _copy_for_purge(c: Ctx) -> None:
    shutil.copy(c.db, c.db.with_name("bench-purge.duckdb"))


def _prefecture_file(c: Ctx) -> Path:
    return c.db.with_name("bench-prefecture.csv")


def _write_prefecture_file(c: Ctx) -> None:
    """The prefecture's copy of the 本人確認情報 as its system would hand it over: every person's
    latest row under the PIA's item names (written here with DuckDB, not by juki export)."""
    import duckdb

    from .layouts import get
    sel = ", ".join(f'"{i.column}" AS "{i.name}"' for i in get("honnin").items)
    con = duckdb.connect(str(c.db), read_only=True)
    try:
        con.execute(f"COPY (SELECT {sel} FROM honnin QUALIFY koshin_jun_no = max(koshin_jun_no) OVER "
                    f"(PARTITION BY jumin_code)) TO '{_prefecture_file(c)}' (HEADER, DELIMITER ',')")
    finally:
        con.close()


STEPS = (
    Step("generate", "juki generate", lambda c: _juki("generate", "--residents", c.residents, "--seed", c.seed,
                                                      "--as-of", AS_OF, "--db", c.db, "--force", "--quiet")),
    Step("review", "01_data_quality", lambda c: _juki("run", "01_data_quality", "--db", c.db)),
    Step("publish", "juki publish-analysis", lambda c: _juki("publish-analysis", "--db", c.db, "--out", c.analysis)),
    Step("ckm", "cell-key utility, explorer queries", lambda c: [sys.executable, "-m", "juki.bench", "ckm-utility",
                                                                  c.analysis]),
    Step("linked", "release with the linked-table audit", lambda c: [sys.executable, "-m", "juki.bench", "linked-audit",
                                                                     c.analysis]),
    Step("statistics", "02_population_statistics", lambda c: _juki("run", "02_population_statistics", "--db", c.analysis)),
    Step("purge", "juki purge (a copy)", lambda c: _juki("purge", "--db", c.db.with_name("bench-purge.duckdb"),
                                                         "--as-of", AS_OF), _copy_for_purge),
    Step("reconcile", "juki reconcile --side prefecture", lambda c: _juki("reconcile", _prefecture_file(c), "--side",
                                                                          "prefecture", "--db", c.db), _write_prefecture_file),
    Step("report", "juki report (all notebooks)", lambda c: _juki("report", "--as-of", AS_OF, "--db", c.db)),
    # root only, not in the default set: an installation (bin/setup-server) of its own, its query
    # latency through the OS boundary and the witness's cost per log entry (juki/benchboundary.py)
    Step("boundary", "the OS boundary (root)", lambda c: [sys.executable, "-m", "juki.benchboundary", c.residents]),
)
#: ``engines`` measures the review and the statistics on each ``--engine``; ``engines-review`` or
#: ``engines-statistics`` one of them.
ENGINE_STEPS = ("engines", "engines-review", "engines-statistics")
NAMES = [s.name for s in STEPS] + ["load", *ENGINE_STEPS]
DEFAULT = [n for n in NAMES if n != "boundary" and n not in ENGINE_STEPS]


def measure(cmd: list, env: dict) -> tuple[dict, str]:
    """Run ``cmd``; its wall seconds and peak RSS (MiB), from the kernel's accounting of the child
    (``wait4``: the child and the descendants it waited for, e.g. a notebook kernel)."""
    import tempfile
    cmd = [str(x) for x in cmd]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        raise JukiError(f"bench: {' '.join(map(str, cmd[3:5]))} failed: {lines[-1] if lines else p.returncode}")
    return {"wall_s": round(wall, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1)}, stdout


def per_resident(r: dict, residents: int) -> dict:
    return {"us_per_resident": round(r["wall_s"] * 1e6 / residents, 2),
            "kib_per_resident": round(r["peak_mib"] * 1024 / residents, 2)}


def write_vendor_export(db: Path, out: Path, rows: int) -> int:
    """A resident-record system's "full data" export of the 住民基本台帳ファイル, as another system
    writes it: PIA item names as the header, YYYYMMDD dates, cp932, CRLF.  Not ``juki export``
    (that is a round trip); DuckDB writes UTF-8 and this re-encodes it in a stream."""
    import duckdb

    from .layouts import LAYOUTS
    lay = LAYOUTS["jumin"]
    sel = []
    for i in lay.items:
        col = i.column
        if i.type == "DATE":
            prec = f"{col}_prec" if i.partial else None
            v = (f"CASE {prec} WHEN 'Y' THEN strftime({col}, '%Y') || '0000' WHEN 'M' THEN strftime({col}, '%Y%m') || '00' "
                 f"ELSE strftime({col}, '%Y%m%d') END") if prec else f"strftime({col}, '%Y%m%d')"
        else:
            v = f"CAST({col} AS VARCHAR)"
        sel.append(f'{v} AS "{i.name}"')
    utf8 = out.with_suffix(".utf8.tmp")
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        n = con.execute(f"SELECT least(count(*), {int(rows)}) FROM jumin").fetchone()[0]
        con.execute(f"COPY (SELECT {', '.join(sel)} FROM jumin ORDER BY atena_no, rireki_no LIMIT {int(rows)}) "
                    f"TO '{utf8}' (HEADER, DELIMITER ',', QUOTE '\"')")
    finally:
        con.close()
    with atomic.replacing(out) as tmp, open(utf8, encoding="utf-8", newline="") as fi, \
            open(tmp, "w", encoding="cp932", errors="replace", newline="") as fo:
        while chunk := fi.read(1 << 22):
            fo.write(chunk.replace("\r\n", "\n").replace("\n", "\r\n"))
    utf8.unlink()
    return n


def run_bench(a) -> int:
    folder = paths.root() / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    sizes = _ints(a.residents, "--residents")
    rows = tuple(_ints(a.rows, "--rows")) if a.rows else (500_000,)
    want = [s.strip() for s in (a.steps or ",".join(DEFAULT)).split(",") if s.strip()]
    bad = [s for s in want if s not in NAMES]
    if bad:
        raise JukiError(f"unknown bench step(s) {', '.join(bad)}; known: {', '.join(NAMES)}")
    env = {**os.environ, "JUKI_REPORTS": str(folder / "reports"), "JUKI_OPLOG": str(folder / "oplog.jsonl"),
           "JUKI_ANALYSIS_DB": str(folder / "bench-analysis.duckdb"), "GX_ANALYTICS_ENABLED": "false"}
    from . import engine as engine_mod
    engines = [engine_mod.choose(e) for e in (getattr(a, "engine", None) or "duckdb").split(",") if e.strip()]
    results = _read(folder / "results.json")
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}
    loaded: set = set()          # each load size is measured once, on the first city large enough
    for n in sizes:
        c = Ctx(folder, Path(a.db) if a.db else folder / "bench.duckdb", n, a.seed, rows)
        entry = results.setdefault("runs", {}).setdefault(str(n), {"steps": {}})
        entry.update(date=dt.datetime.now().isoformat(timespec="seconds"), seed=a.seed, as_of=AS_OF)
        for step in STEPS:
            if step.name not in want:
                continue
            if step.prepare:
                step.prepare(c)
            r, out = measure(step.command(c), env)
            entry["steps"][step.name] = {**r, **per_resident(r, n)}
            last = out.strip().splitlines()[-1] if out.strip() else ""
            if last.startswith("{"):
                entry["steps"][step.name]["result"] = json.loads(last)
            _say(n, step.what, r)
            _save(folder, results)
        kinds = [k for k in ("review", "statistics") if "engines" in want or f"engines-{k}" in want]
        for eng in engines if kinds else []:
            for what, cmd in (("review", [sys.executable, "-m", "juki.bench", "engine-review", c.db, eng]),
                              ("statistics", [sys.executable, "-m", "juki.bench", "engine-stats", c.analysis, eng])):
                if what not in kinds:
                    continue
                r, out = measure(cmd, env)
                last = out.strip().splitlines()[-1] if out.strip() else "{}"
                entry["steps"][f"{what}_{eng}"] = {**r, **per_resident(r, n), "result": json.loads(last)}
                _say(n, f"{what} of the 本人確認情報 on {eng}" if what == "review" else f"statistics on {eng}", r)
                _save(folder, results)
        if "load" in want:
            for size in [r for r in rows if r not in loaded]:
                src = folder / f"bench-load-{size}.csv"
                # written by a child: the parent stays small (a child's peak RSS starts from its parent's)
                measure([sys.executable, "-m", "juki.bench", "vendor-export", c.db, src, size], env)
                got = _count_lines(src) - 1
                if got < size:
                    print(f"{n:>9,}  load {size:,}: the city has only {got:,} rows; skipped", flush=True)
                    src.unlink()
                    continue
                loaded.add(size)
                dst = folder / "bench-load.duckdb"
                dst.unlink(missing_ok=True)
                r, _ = measure(_juki("load", src, "--file", "jumin", "--encoding", "cp932", "--db", dst), env)
                r["rows_per_s"] = round(size / r["wall_s"])
                entry["steps"][f"load_{size}"] = r
                _say(n, f"juki load {size:,} rows cp932", r)
                src.unlink()
                dst.unlink(missing_ok=True)
                _save(folder, results)
    chart(results, folder / "scaling.png")
    return 0


def _count_lines(p: Path) -> int:
    with open(p, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))


def ckm_utility(analysis_db: Path) -> dict:
    """What the table builder's perturbation costs analysts, on the publication's date: over every
    町域 × 5歳階級 × 男女 cell (all nationalities; margins are sums), the mean absolute error,
    the share of cells changed and false zeros; the same for the 町域 totals; and how long
    the service takes for a table (ms, the finest cells cached after the first)."""
    from .analysis.store import Analysis
    from .stats import ckm, policy
    from .stats import tablebuilder as tb
    a = Analysis(analysis_db)
    try:
        t0 = time.perf_counter()
        f = tb.finest(a, a.as_of)
        first_ms = round((time.perf_counter() - t0) * 1000)
        g = f[f["band"] >= 0].groupby(["choiki", "band", "sex"])[["n", "p"]].sum()
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in ckm.utility(g["n"], g["p"]).items()}
        small = g[(g["n"] > 0) & (g["n"] <= 10)]
        out["mean_abs_cells_1_to_10"] = round(float((small["n"] - small["p"]).abs().mean()), 4)
        towns = f.groupby("choiki")[["n", "p"]].sum()
        out["town_totals"] = {"mean_abs": round(float((towns["n"] - towns["p"]).abs().mean()), 3),
                              "mean_rel": round(float(((towns["n"] - towns["p"]).abs() / towns["n"].clip(lower=1)).mean()), 5)}
        times = [first_ms]
        for area, ages, sex, nat in ((tb.ALL_AREAS, (0, 100), tb.BOTH, tb.ALL_NATIONS), ("松戸", (0, 100), "女", tb.ALL_NATIONS),
                                     (tb.ALL_AREAS, (20, 39), tb.BOTH, tb.ALL_NATIONS), ("常盤平", (65, 100), tb.BOTH, "外国人住民")):
            t1 = time.perf_counter()
            tb.build(tb.finest(a, a.as_of), area, ages, sex, nat)
            times.append(round((time.perf_counter() - t1) * 1000, 1))
        out["table_ms"] = times
        out["ptable"] = dict(vars(policy.load().ptable))
    finally:
        a.close()
    return out


def main(argv: list[str]) -> int:
    """``python -m juki.bench vendor-export DB OUT ROWS`` | ``ckm-utility ANALYSIS_DB`` (helpers)."""
    try:
        if len(argv) == 4 and argv[0] == "vendor-export":
            if not Path(argv[1]).is_file():
                raise JukiError(f"no store at {argv[1]}")
            write_vendor_export(Path(argv[1]), Path(argv[2]), _ints(argv[3], "ROWS")[0])
            return 0
        if len(argv) == 2 and argv[0] == "linked-audit":
            print(json.dumps(linked_audit(Path(argv[1])), ensure_ascii=False))
            return 0
        if len(argv) == 3 and argv[0] == "engine-review":
            print(json.dumps(engine_review(Path(argv[1]), argv[2]), ensure_ascii=False))
            return 0
        if len(argv) == 3 and argv[0] == "engine-stats":
            print(json.dumps(engine_stats(Path(argv[1]), argv[2]), ensure_ascii=False))
            return 0
        if len(argv) == 2 and argv[0] == "ckm-utility":
            print(json.dumps(ckm_utility(Path(argv[1])), ensure_ascii=False, default=str))
            return 0
    except JukiError as e:
        print(f"juki.bench: {e}", file=sys.stderr)
        return 2
    print("usage: python -m juki.bench vendor-export DB OUT ROWS | ckm-utility ANALYSIS_DB | linked-audit ANALYSIS_DB",
          file=sys.stderr)
    return 2



def _jvm_peak_mib() -> float | None:
    """The Spark driver JVM's peak resident memory (a child of this process: VmHWM)."""
    try:
        from pyspark.sql import SparkSession
        s = SparkSession.getActiveSession()
        pid = s.sparkContext._gateway.proc.pid          # pyspark's launch_gateway keeps the JVM's Popen
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except Exception:
        return None
    return None


def engine_review(db: Path, engine: str) -> dict:
    """The review of the 本人確認情報 (a prefecture's file) on ``engine``: Spark reads it as Parquet
    written from the store first (timed apart: a prefecture keeps its data where Spark reads it)."""
    import tempfile

    from . import engine as engines
    from . import store
    from .quality.review import review
    out = {"engine": engine}
    con = store.connect(db)
    try:
        as_of = dt.date.fromisoformat(AS_OF)
        persons = int(con.table("honnin").jumin_code.nunique().execute())
        rows = int(con.table("honnin").count().execute())
        if engine == "duckdb":
            t0 = time.perf_counter()
            rv = review(con, "honnin", as_of, use_gx=False)
            out["review_s"] = round(time.perf_counter() - t0, 1)
    finally:
        con.disconnect()
    if engine == "spark":
        with tempfile.TemporaryDirectory(prefix=".bench-spark-", dir=db.parent) as tmp:
            t0 = time.perf_counter()
            store.to_parquet(db, tmp)
            out["parquet_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            sp = engines.spark_backend(tmp)
            out["spark_start_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            rv = review(sp, "honnin", as_of, use_gx=False)
            out["review_s"] = round(time.perf_counter() - t0, 1)
            out["jvm_peak_mib"] = _jvm_peak_mib()
    out.update(persons=persons, rows=rows, rules=len(rv.rules()), failing_rows=int(sum(rv.counts().values())),
               rules_s=rv.timings.get("rules_s"))
    return out


def engine_stats(analysis_db: Path, engine: str) -> dict:
    """The survey's tables and the population tables of the publication's date on ``engine`` (no
    disclosure audit: that is numpy over the tables, the same on both)."""
    import tempfile

    from . import engine as engines
    from .analysis.store import TABLES, Analysis
    from .stats import official, population
    a = Analysis(analysis_db)
    out = {"engine": engine}
    try:
        if engine == "spark":
            tmp = tempfile.mkdtemp(prefix=".bench-spark-", dir=analysis_db.parent)
            t0 = time.perf_counter()
            a.to_parquet(tmp)
            out["parquet_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            a = Analysis.over(engines.spark_backend(tmp, tables=TABLES), a.meta)
            out["spark_start_s"] = round(time.perf_counter() - t0, 1)
        ref = a.as_of
        t0 = time.perf_counter()
        tables = [*official.all_survey(a, ref.year), population.population_by_area(a, ref),
                  official.single_ages(a, ref), official.three_bands(a, ref)[0], official.household_sizes(a, ref),
                  official.monthly_towns(a, ref.replace(month=1, day=1), ref)]
        out["tables_s"] = round(time.perf_counter() - t0, 1)
        out["cells"] = int(sum(t.values(published=False).size for t in tables))
        out["residents"] = int(a.stock(ref).count().execute())
        if engine == "spark":
            out["jvm_peak_mib"] = _jvm_peak_mib()
            import shutil as _sh
            _sh.rmtree(tmp, ignore_errors=True)
    finally:
        if engine == "duckdb":
            a.close()
    return out


def linked_audit(analysis_db: Path) -> dict:
    """The release of the publication's date built with its linked-table audit: how long the
    audit took, how many programs, hidden and added cells, and whether it passed."""
    from .analysis.store import Analysis
    from .stats.release import Release
    a = Analysis(analysis_db)
    try:
        t0 = time.perf_counter()
        rel = Release.build(a, None, level="choiki")
        au = rel.audit
        return {"release_s": round(time.perf_counter() - t0, 1), "audit_s": round(au.seconds, 1), "programs": au.programs,
                "hidden": au.hidden_cells, "added": au.added, "areas": au.areas, "ok": au.ok}
    finally:
        a.close()


def _say(n, what, r):
    extra = f"  {r['rows_per_s']:,} rows/s" if "rows_per_s" in r else ""
    print(f"{n:>9,}  {what:32s} {r['wall_s']:9.1f} s  {r['peak_mib']:9.0f} MiB{extra}", flush=True)


def _ints(text: str, flag: str) -> list[int]:
    try:
        v = [int(x.replace("_", "")) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise JukiError(f"{flag} takes whole numbers separated by commas (got {text!r})") from None
    if not v or min(v) <= 0:
        raise JukiError(f"{flag} takes positive numbers (got {text!r})")
    return v


def _read(p: Path) -> dict:
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        return d if "runs" in d else {}
    except (OSError, ValueError):
        return {}


def _save(folder: Path, results: dict) -> None:
    atomic.atomic_write_json(folder / "results.json", results)


def chart(results: dict, out: Path) -> None:
    """Cost per resident of each step against city size: flat or falling lines mean linear cost."""
    runs = results.get("runs", {})
    if len(runs) < 1:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = sorted(int(k) for k in runs)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = sorted({s for k in runs for s in runs[k]["steps"] if not s.startswith("load_") and s != "boundary"})
    colours = plt.get_cmap("tab20").colors
    for k, s in enumerate(names):
        xs = [n for n in sizes if s in runs[str(n)]["steps"]]
        # one colour and marker per step (more steps than a 10-colour cycle; the engines' dashed)
        style = dict(color=colours[(2 * k) % 20 + (k // 10) % 2], marker="os^Dv<>ph*"[k % 10], label=s,
                     linestyle="--" if s.endswith(("_duckdb", "_spark")) else "-")
        ax1.plot(xs, [runs[str(n)]["steps"][s]["wall_s"] * 1e6 / n for n in xs], **style)
        ax2.plot(xs, [runs[str(n)]["steps"][s]["peak_mib"] * 1024 / n for n in xs], **style)
    for ax, t in ((ax1, "wall time per resident (µs)"), (ax2, "peak RSS per resident (KiB)")):
        ax.set_xscale("log")
        ax.set_xlabel("residents")
        ax.set_title(t)
        ax.grid(alpha=.3)
    ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    with atomic.replacing(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
