"""Every entry point meets bad input with one clear line and a non-zero exit."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import AS_OF


def juki(*args, env=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "juki", *args], capture_output=True, text=True, env=e, timeout=600)


def _one_line_error(p, code=2):
    assert p.returncode == code, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("juki:"), p.stderr
    return lines[0]


def test_layouts_json_and_markdown():
    p = juki("layouts", "--format", "json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert [len(d["items"]) for d in data] == [48, 36, 61]
    p = juki("layouts", "--format", "markdown")
    assert p.returncode == 0 and "住民基本台帳ファイル" in p.stdout


@pytest.mark.parametrize("args, fragment", [
    (["generate", "--residents", "0"], "positive"),
    (["generate", "--residents", "-5"], "positive"),
    (["generate", "--residents", "many"], "whole number"),
    (["generate", "--as-of", "2026-02-30"], "not a valid date"),
    (["generate", "--as-of", "2019-01-01"], "too early"),
    (["generate", "--seed", "x"], "whole number"),
    (["layouts", "--format", "xml"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_generate_bad_input(tmp_path, args, fragment):
    db = tmp_path / "x.duckdb"
    p = juki(*args, "--db", str(db)) if args[0] == "generate" else juki(*args)
    assert fragment in _one_line_error(p)
    assert not db.exists()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_db_path(tmp_path):
    p = juki("generate", "--residents", "10", "--db", str(tmp_path / "no" / "such" / "dir" / "x.duckdb"))
    assert "does not exist" in _one_line_error(p)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions: use a path under a file instead
            target = tmp_path / "afile"
            target.write_text("x")
            p = juki("generate", "--residents", "10", "--db", str(target / "x.duckdb"))
        else:
            p = juki("generate", "--residents", "10", "--db", str(ro / "x.duckdb"))
        _one_line_error(p)
    finally:
        ro.chmod(0o700)


def test_generate_writes_store_atomically(tmp_path):
    db = tmp_path / "city.duckdb"
    p = juki("generate", "--residents", "200", "--seed", "3", "--as-of", AS_OF.isoformat(), "--db", str(db), "--quiet")
    assert p.returncode == 0, p.stderr
    assert "200 residents" in p.stdout
    assert sorted(x.name for x in tmp_path.iterdir()) == ["city.duckdb"]


def test_interrupted_generation_leaves_previous_store(tmp_path):
    """A generation killed before it finishes never replaces (or half-writes) the store."""
    import signal
    import time
    db = tmp_path / "city.duckdb"
    assert juki("generate", "--residents", "100", "--as-of", AS_OF.isoformat(), "--db", str(db), "--quiet").returncode == 0
    before = db.read_bytes()
    mark = f"juki-test-{os.getpid()}-{time.time_ns()}"
    proc = subprocess.Popen([sys.executable, "-m", "juki", "generate", "--residents", "200000", "--as-of",
                             AS_OF.isoformat(), "--db", str(db), "--quiet", "--force"], stderr=subprocess.DEVNULL,
                            env={**os.environ, "JUKI_TEST_MARK": mark})
    time.sleep(4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert db.read_bytes() == before
    # its generator workers do not outlive it: each dies with it (the kernel's parent-death signal),
    # or as soon as it has started, if it was still importing (a minute is room for a busy machine)
    deadline = time.time() + 60
    while _processes_marked(mark) and time.time() < deadline:
        time.sleep(0.5)
    assert not _processes_marked(mark)
    leftovers = [x.name for x in tmp_path.iterdir() if x.name != "city.duckdb"]
    # a killed process may leave its temporary file; it is hidden and never taken for the store
    assert all(x.startswith((".city.duckdb.new-", ".city.duckdb.stage-")) for x in leftovers), leftovers


def _processes_marked(mark: str) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and f"JUKI_TEST_MARK={mark}".encode() in (d / "environ").read_bytes():
                found.append(int(d.name))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("args, fragment", [
    (["run", "no_such_notebook"], "unknown notebook"),
    (["run", "00_overview", "-p", "bogus", "1"], "no parameter 'bogus'"),
    (["run", "00_overview", "-p", "as_of", "2026-13-01"], "not a valid date"),
    (["run", "00_overview", "-p", "as_of"], "expected 2 arguments"),
])
def test_run_bad_input(tmp_path, small_db, args, fragment):
    p = juki(*args, "--db", str(small_db), env={"JUKI_REPORTS": str(tmp_path / "reports")})
    assert fragment in _one_line_error(p)
    assert not (tmp_path / "reports").exists() or list((tmp_path / "reports").iterdir()) == []


def test_run_missing_store(tmp_path):
    p = juki("run", "00_overview", "--db", str(tmp_path / "none.duckdb"))
    assert "no store" in _one_line_error(p)


def test_daily_sofusaki_purge_skips_a_closed_day(tmp_path, small_db):
    import shutil
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    p = juki("purge", "--only", "sofusaki_sent", "--if-business-day", "--as-of", "2026-05-03", "--db", str(db))
    assert p.returncode == 0 and "not a business day" in p.stdout
    p = juki("purge", "--only", "sofusaki_sent", "--if-business-day", "--as-of", "2026-05-07", "--dry-run", "--db", str(db))
    assert p.returncode == 0 and "sofusaki_sent" in p.stdout


@pytest.mark.parametrize("args, fragment", [
    (["followup", "jumin.seibetsu.code", "1|1"], "needs --owner"),
    (["followup", "no.such.rule", "1|1", "--owner", "x"], "unknown rule"),
    (["followup", "jumin.seibetsu.code", "1|1", "--status", "done"], "status must be one of"),
    (["bench", "--residents", "x"], "whole numbers"),
    (["bench", "--steps", "fly"], "unknown bench step"),
])
def test_more_bad_input(tmp_path, args, fragment):
    extra = ["--db", str(tmp_path / "none.duckdb")] if args[0] == "followup" else []
    assert fragment in _one_line_error(juki(*args, *extra))


@pytest.mark.parametrize("args, fragment", [
    (["ckm-utility", "/nonexistent/analysis.duckdb"], "no analysis store"),
    (["vendor-export", "/nonexistent/juki.duckdb", "/nonexistent/out.csv", "10"], "no store"),
    (["vendor-export"], "usage"),
])
def test_bench_helpers_bad_input(args, fragment):
    p = subprocess.run([sys.executable, "-m", "juki.bench", *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and fragment in p.stderr, p.stderr


def test_a_first_report_publishes_into_its_own_data_folder(tmp_path, small_db, monkeypatch):
    """The report publishes the analysis store beside the registry in the data folder -- the
    one place --out may never write to, so the default must not go through that check (a fresh
    `bin/setup` stopped here)."""
    import shutil

    from juki.analysis.publish import publish
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    shutil.copy(small_db, data / "juki.duckdb")
    monkeypatch.setenv("JUKI_DATA", str(data))
    res = publish(db=data / "juki.duckdb", out=data / "analysis.duckdb")
    assert Path(res["path"]) == data / "analysis.duckdb" and (data / "analysis.duckdb").exists()
    from juki.errors import JukiError
    with pytest.raises(JukiError, match="data folder"):
        publish(db=data / "juki.duckdb", out=data / "other.duckdb")
