"""``juki bench``: wall time and peak memory of the main jobs, each in its own process.

Results are printed and written to ``bench/results.json`` (one entry per step, with the
machine's CPU count), so later issues add their steps here and notes quote the figures.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import resource
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
    wall = time.perf_counter() - t0
    peak_kib = 0
    for line in p.stderr.splitlines():
        if line.startswith("@@PEAK@@"):
            peak_kib = json.loads(line[8:])
    if p.returncode != 0:
        err = [ln for ln in p.stderr.splitlines() if ln and not ln.startswith("@@PEAK@@")]
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {err[-1] if err else p.returncode}")
    return {"wall_s": round(wall, 2), "peak_mib": round(peak_kib / 1024, 1)}


def run_bench(a) -> int:
    root = paths.root()
    db = Path(a.db) if a.db else root / "bench" / "bench.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    steps = [s.strip() for s in a.steps.split(",") if s.strip()]
    known = {"generate", "overview"}
    bad = [s for s in steps if s not in known]
    if bad:
        from .errors import JukiError
        raise JukiError(f"unknown bench step(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
    results = {"date": dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
               "residents": a.residents, "steps": {}}
    juki = [sys.executable, "-m", "juki"]
    env = {**os.environ, "JUKI_DB": str(db), "JUKI_REPORTS": str(root / "bench" / "reports")}
    for step in steps:
        if step == "generate":
            cmd = juki + ["generate", "--residents", str(a.residents), "--seed", str(a.seed),
                          "--as-of", "2026-04-01", "--db", str(db), "--quiet"]
        else:
            cmd = juki + ["run", "00_overview", "--db", str(db)]
        r = _measure(cmd, env)
        results["steps"][step] = r
        print(f"{step:10s} wall {r['wall_s']:8.2f} s   peak {r['peak_mib']:8.1f} MiB", flush=True)
    out = root / "bench" / "results.json"
    old = json.loads(out.read_text()) if out.exists() else {}
    old[f"{a.residents}"] = results
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(old, indent=2), encoding="utf-8")
    os.replace(tmp, out)
    return 0
