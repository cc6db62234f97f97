"""``juki bench --steps boundary``: what the OS boundary costs (run as root).

Builds a throwaway installation with ``bin/setup-server`` under ``bench/server/`` (kept between
runs: a second run only regenerates the city), generates a city of the given size as an
administrator account, publishes the analysis store, starts the table service, and measures:

* **query latency through the boundary**: an analyst account's ``juki.tables.query`` over the
  explorer's selections (町域 × age range × sex), through the socket (``SO_PEERCRED``) and, for a
  few, through ``sudo`` (a new process each time): median and p95 in milliseconds;
* **the witness per log entry**: the service account appends entries to a scratch log twice --
  with and without handing each to the witness (``sudo -u juki-witness``) -- and the difference
  per entry is the witness's cost.

Prints one JSON object (the bench keeps it in ``bench/results.json``).
"""
from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

RUNUSER = "/usr/sbin/runuser"
ANALYST, ADMIN = "jb-analyst", "jb-admin"
AS_OF = "2026-04-01"

QUERIES = r'''
import json, random, statistics, sys, time
from juki import codes
from juki.tables import query
areas = [None] + sorted(set(codes.towns()["choiki"]))[:40]
rnd = random.Random(7)
ts = []
for i in range(int(sys.argv[1])):
    lo = rnd.randrange(0, 90, 5)
    t = time.perf_counter()
    query(area=rnd.choice(areas), age=(lo, min(100, lo + rnd.choice((4, 9, 19, 39)))), sex=rnd.choice(("男女計", "男", "女")))
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(json.dumps({"n": len(ts), "median_ms": round(statistics.median(ts), 1), "p95_ms": round(ts[int(0.95 * len(ts)) - 1], 1)}))
'''

WITNESS = r'''
import json, os, sys, time, tempfile
from pathlib import Path
from juki.log import oplog
n = int(sys.argv[1])
d = Path(tempfile.mkdtemp(dir=os.environ["HOME"]))
def run(path):
    t = time.perf_counter()
    for i in range(n):
        oplog.append("bench", "witness cost", operator="bench", path=path)
    return (time.perf_counter() - t) * 1000 / n
scratch = run(d / "scratch.jsonl")     # a scratch log: no witness
real = run(None)                       # the installation's log: each entry also to the witness
print(json.dumps({"entries": n, "append_ms": round(scratch, 2), "append_with_witness_ms": round(real, 2)}))
'''


def _run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode:
        raise SystemExit(f"bench boundary: {' '.join(map(str, cmd[:6]))}: {(p.stderr or p.stdout).strip().splitlines()[-1:]}")
    return p.stdout


def _as(user, *cmd, **kw):
    home = pwd.getpwnam(user).pw_dir
    return _run([RUNUSER, "-u", user, "--", *cmd], env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home},
                cwd="/tmp", **kw)


def main(residents: int, root: Path) -> dict:
    if os.geteuid() != 0:
        raise SystemExit("bench boundary: run as root (it creates accounts and an installation)")
    prefix = root / "bench" / "server"
    root.joinpath("bench").mkdir(exist_ok=True)
    _run(["bash", root / "bin" / "setup-server", "--prefix", prefix], timeout=3600)
    for user, group in ((ANALYST, "juki-analyst"), (ADMIN, "juki-administrator")):
        if subprocess.run(["id", user], capture_output=True).returncode:
            _run(["useradd", "-m", "-s", "/bin/sh", user])
        _run(["usermod", "-aG", group, user])
    juki = prefix / "bin" / "juki"
    out = {"residents": residents}
    t = time.perf_counter()
    _as(ADMIN, juki, "generate", "--residents", residents, "--as-of", AS_OF, "--force", "--quiet", timeout=7200)
    out["generate_s"] = round(time.perf_counter() - t, 1)
    _as(ADMIN, juki, "publish-analysis", "--as-of", AS_OF, timeout=7200)
    sock = prefix / "run" / "tables.sock"
    svc = subprocess.Popen([RUNUSER, "-u", "juki", "--", prefix / "libexec" / "juki-entry", "serve-tables"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
    try:
        end = time.monotonic() + 120
        while not sock.exists() and time.monotonic() < end:
            time.sleep(0.1)
        py = prefix / "venv" / "bin" / "python"
        t = time.perf_counter()
        _as(ANALYST, py, "-c", "from juki.tables import query; query()")
        out["first_query_s_with_python_start"] = round(time.perf_counter() - t, 2)
        out["socket"] = json.loads(_as(ANALYST, py, "-c", QUERIES, "200"))
        sudo = []
        for _ in range(5):
            t = time.perf_counter()
            _as(ANALYST, juki, "table", "--age", "20-39", "--format", "json")
            sudo.append((time.perf_counter() - t) * 1000)
        sudo.sort()
        out["sudo_one_process_ms"] = {"median": round(sudo[2], 1), "max": round(sudo[-1], 1)}
    finally:
        svc.terminate()
        svc.wait(timeout=60)
    # the witness: appends to a scratch log (none) and to the installation's log (each witnessed)
    w = json.loads(_as("juki", prefix / "venv" / "bin" / "python", "-I", "-c", WITNESS, "200"))
    out["log_append_ms"] = w["append_ms"]
    out["log_append_with_witness_ms"] = w["append_with_witness_ms"]
    out["witness_ms_per_entry"] = round(w["append_with_witness_ms"] - w["append_ms"], 2)
    return out


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    print(json.dumps(main(size, Path(__file__).resolve().parents[1])))
