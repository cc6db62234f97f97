"""``juki bench``: wall time and peak memory of the main jobs, each in its own process.

Results are printed and written to ``bench/results.json`` (one entry per step, with the
machine's CPU count), so later issues add their steps here and notes quote the figures.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import paths


def _measure(cmd: list[str], env=None) -> dict:
    """Run a command in a child process; wall seconds and its peak RSS (MiB)."""
    t0 = time.perf_counter()
    # each step runs in a fresh child so RUSAGE_CHILDREN's max is that step's (via a wrapper)
    wrapper = [sys.executable, "-c",
               "import resource,subprocess,sys,json;"
               "r=subprocess.run(sys.argv[1:]);"
               "m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
               "print('@@PEAK@@'+json.dumps(m),file=sys.stderr);sys.exit(r.returncode)"] + cmd
    p = subprocess.run(wrapper, capture_output=True, text=True, env=env)
    stdout = p.stdout
    wall = time.perf_counter() - t0
    peak_kib = 0
    for line in p.stderr.splitlines():
        if line.startswith("@@PEAK@@"):
            peak_kib = json.loads(line[8:])
    if p.returncode != 0:
        err = [ln for ln in p.stderr.splitlines() if ln and not ln.startswith("@@PEAK@@")]
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {err[-1] if err else p.returncode}")
    return {"wall_s": round(wall, 2), "peak_mib": round(peak_kib / 1024, 1)}, stdout


INPROC = {
    "quality_rules": """
import datetime as dt, json, sys, time
from juki import store
from juki.quality.evaluate import baseline_counts, violations
from juki.quality.gx import validate
con = store.connect(sys.argv[1]); as_of = dt.date.fromisoformat(store.meta(con)["as_of"])
t = time.perf_counter(); v = {x: violations(con, x, as_of) for x in ("jumin", "honnin", "sofusaki")}; duck_s = time.perf_counter() - t
import great_expectations  # import time is not rule evaluation
t = time.perf_counter(); validate(v); gx_s = time.perf_counter() - t
t = time.perf_counter(); [baseline_counts(con, x, as_of) for x in ("jumin", "honnin", "sofusaki")]; base_s = time.perf_counter() - t
print(json.dumps({"duckdb_s": round(duck_s, 2), "gx_s": round(gx_s, 2), "rule_evaluation_s": round(duck_s + gx_s, 2),
                  "one_pass_sql_s": round(base_s, 2), "ratio": round((duck_s + gx_s) / base_s, 2)}))
""",
    "statistics_queries": """
import datetime as dt, json, sys, time
from juki.privacy import Deidentified
from juki.stats import tables as T
t = time.perf_counter(); d = Deidentified(sys.argv[1]); build_s = time.perf_counter() - t
as_of = d.as_of; s, e = T.default_period(as_of)
t = time.perf_counter(); T.all_tables(d, as_of, s, e); q_s = time.perf_counter() - t
print(json.dumps({"deidentify_s": round(build_s, 2), "queries_s": round(q_s, 2), "total_s": round(build_s + q_s, 2)}))
""",
    "purge_apply": """
import json, sys
from juki.retention import apply
r = apply(sys.argv[1], None, operator="bench")
print(json.dumps({"rows_due": sum(x.due for x in r.rules), "seconds": round(r.seconds, 2)}))
""",
}

INPROC["load"] = """
import json, os, sys, time, duckdb
from pathlib import Path
db = sys.argv[1]; folder = Path(db).parent
src = folder / "bench-load-source.csv"; csv_path = folder / "bench-load-500k-cp932.csv"; dst = folder / "bench-load.duckdb"
from juki.ingest import export, load
export("jumin", src, db=db, encoding="utf-8", dates="wareki")
with open(src, encoding="utf-8", newline="") as fi, open(csv_path, "w", encoding="cp932", errors="replace", newline="") as fo:
    for n, line in enumerate(fi):
        if n > 500_000:
            break
        fo.write(line)
src.unlink()
for p in (dst, Path(str(dst) + ".wal")):
    p.unlink(missing_ok=True)
t = time.perf_counter(); rep = load(csv_path, "jumin", db=dst, encoding="cp932"); s = time.perf_counter() - t
print(json.dumps({"rows_read": rep.read, "loaded": rep.loaded, "quarantined": rep.quarantined, "load_s": round(s, 2)}))
"""

STEPS = ("generate", "overview", "quality", "quality_rules", "statistics", "statistics_queries", "purge", "report",
         "load")


def run_bench(a) -> int:
    import shutil
    root = paths.root()
    db = Path(a.db) if a.db else root / "bench" / "bench.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    steps = [s.strip() for s in a.steps.split(",") if s.strip()]
    bad = [s for s in steps if s not in STEPS]
    if bad:
        from .errors import JukiError
        raise JukiError(f"unknown bench step(s) {', '.join(bad)}; known: {', '.join(STEPS)}")
    results = {"date": dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
               "residents": a.residents, "steps": {}}
    juki = [sys.executable, "-m", "juki"]
    env = {**os.environ, "JUKI_DB": str(db), "JUKI_REPORTS": str(root / "bench" / "reports"),
           "JUKI_OPLOG": str(root / "bench" / "oplog.jsonl")}
    as_of = "2026-04-01"
    for step in steps:
        extra = None
        if step == "generate":
            cmd = juki + ["generate", "--residents", str(a.residents), "--seed", str(a.seed),
                          "--as-of", as_of, "--db", str(db), "--quiet"]
        elif step == "overview":
            cmd = juki + ["run", "00_overview", "--db", str(db)]
        elif step == "quality":
            cmd = juki + ["run", "01_data_quality", "--db", str(db)]
        elif step == "statistics":
            cmd = juki + ["run", "02_population_statistics", "--db", str(db)]
        elif step == "report":
            cmd = juki + ["report", "--as-of", as_of, "--db", str(db)]
        elif step == "purge":
            copy = db.with_name("bench-purge.duckdb")
            shutil.copy(db, copy)
            cmd = [sys.executable, "-c", INPROC["purge_apply"], str(copy)]
        else:
            cmd = [sys.executable, "-c", INPROC[step], str(db)]
        r, out = _measure(cmd, env)
        if step in INPROC or step == "purge":
            with contextlib.suppress(Exception):
                extra = json.loads(out.strip().splitlines()[-1])
                r.update(extra)
        results["steps"][step] = r
        print(f"{step:20s} wall {r['wall_s']:8.2f} s   peak {r['peak_mib']:8.1f} MiB"
              + (f"   {extra}" if extra else ""), flush=True)
    out = root / "bench" / "results.json"
    old = json.loads(out.read_text()) if out.exists() else {}
    old[f"{a.residents}"] = results
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(old, indent=2), encoding="utf-8")
    os.replace(tmp, out)
    return 0
