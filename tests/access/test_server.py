"""The boundary of a multi-account installation, attacked as insiders would attack it.

``bin/setup-server`` installs juki into a temporary prefix; real OS accounts are created with
``useradd`` and put in the role groups.  Each test plays attacks **as those accounts**, through
``PREFIX/bin/juki`` and directly with Python, and each must be refused or detected: by juki with
one line and a log entry, or by the operating system (a file the account cannot open -- which no
process of that account can log).  The last test counts what was tried and caught.

Needs root (CI runs as root) and useradd; sudo is installed by bin/setup-server when missing.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create accounts (CI runs as root)"),
    pytest.mark.skipif(shutil.which("useradd") is None, reason="needs useradd"),
]

AS_OF = "2026-11-30"
ACCOUNTS = {  # account -> role groups
    "jt-admin": ["administrator"], "jt-reviewer": ["reviewer"], "jt-clerk": ["number_clerk", "reviewer"],
    "jt-analyst": ["analyst"], "jt-sched": ["scheduler"], "jt-auditor": ["auditor"], "jt-nobody": [],
}
ATTACKS: list[tuple[str, str, bool]] = []      # (attack, how it was caught, caught?)


def caught(name: str, ok: bool, how: str = "juki: one line + log entry"):
    ATTACKS.append((name, how, bool(ok)))
    assert ok, f"{name}: not caught"


class Installation:
    def __init__(self, prefix: Path):
        self.prefix = prefix
        self.data = prefix / "data"
        self.log = self.data / "oplog.jsonl"
        self.service_proc = None

    # -- acting as an account
    def env(self, user: str, extra: dict | None = None) -> dict:
        home = pwd.getpwnam(user).pw_dir
        return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, **(extra or {})}

    def run(self, user: str, *cmd, extra_env=None, timeout=600, input=None) -> subprocess.CompletedProcess:
        return subprocess.run([RUNUSER, "-u", user, "--", *map(str, cmd)], capture_output=True, text=True,
                              env=self.env(user, extra_env), cwd="/tmp", timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def juki(self, user: str, *args, **kw) -> subprocess.CompletedProcess:
        return self.run(user, self.prefix / "bin" / "juki", *args, **kw)

    def py(self, user: str, code: str, **kw) -> subprocess.CompletedProcess:
        """Plain Python as ``user``, with juki importable (the installation's own interpreter)."""
        return self.run(user, self.prefix / "venv" / "bin" / "python", "-c", code, **kw)

    # -- what root sees
    def entries(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(x) for x in self.log.read_text(encoding="utf-8").splitlines() if x.strip()]

    def last(self) -> dict:
        es = self.entries()
        return es[-1] if es else {}

    def witness(self) -> list[str]:
        return (self.prefix / "witness" / "oplog.witness").read_text().splitlines()


def one_line(p: subprocess.CompletedProcess) -> str:
    """The single 'juki: …' line of a refused command ('' when it was not one clean line)."""
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    return lines[0] if p.returncode != 0 and len(lines) == 1 and lines[0].startswith("juki:") else ""


def refused_and_logged(inst: Installation, p, account: str, before: int, word: str = "") -> bool:
    """One line, non-zero exit, and a new log entry refusing (or failing) it under ``account``."""
    line = one_line(p)
    new = inst.entries()[before:]
    logged = any(e.get("os_user") == account and e.get("outcome") in ("refused", "failed") for e in new)
    return bool(line) and logged and (word in line if word else True)


def _wait_for(pred, what: str, timeout: float = 120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def inst():
    base = Path(tempfile.mkdtemp(prefix="juki-server-test-", dir="/tmp"))
    base.chmod(0o755)
    prefix = base / "juki"
    p = subprocess.run(["bash", str(ROOT / "bin" / "setup-server"), "--prefix", str(prefix), "--cron"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-2000:]
    for user, groups in ACCOUNTS.items():
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "-m", "-s", "/bin/sh", user], check=True)
        subprocess.run(["usermod", "-G", ",".join(f"juki-{g}" for g in groups) or "", user], check=True)
    i = Installation(prefix)
    g = i.juki("jt-admin", "generate", "--residents", "3000", "--seed", "5", "--as-of", AS_OF, "--quiet")
    assert g.returncode == 0, g.stderr
    pub = i.juki("jt-admin", "publish-analysis", "--as-of", AS_OF)
    assert pub.returncode == 0, pub.stderr
    # the table service, as systemd would start it (no systemd in CI's container)
    i.service_proc = subprocess.Popen([RUNUSER, "-u", "juki", "--", str(prefix / "libexec" / "juki-entry"), "serve-tables"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"})
    _wait_for(lambda: (prefix / "run" / "tables.sock").exists(), "the table service's socket")
    yield i
    i.service_proc.terminate()
    i.service_proc.wait(timeout=60)
    tag = re.sub(r"[^A-Za-z0-9_-]", "_", str(prefix))
    for f in (Path("/etc/sudoers.d") / f"juki{tag}", Path("/etc/cron.d") / f"juki{tag}",
              Path("/etc/systemd/system") / f"juki-tables{tag}.service"):
        f.unlink(missing_ok=True)
    subprocess.run(["chattr", "-a", str(prefix / "witness" / "oplog.witness")], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pristine(inst):
    """Keep the data folder as it was before a destructive test (the witness only grows)."""
    keep = inst.prefix / "data.keep"
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(inst.data, keep, symlinks=True)
    yield keep
    _restore(inst, keep)
    shutil.rmtree(keep)


def registry_truth(inst) -> dict:
    """Names, numbers and codes of the registry, read as root (the attacker never has them)."""
    import duckdb
    tmp = Path(tempfile.mkdtemp())
    shutil.copy(inst.data / "juki.duckdb", tmp / "r.duckdb")
    con = duckdb.connect(str(tmp / "r.duckdb"), read_only=True)
    try:
        col = lambda c: {r[0] for r in con.execute(f"SELECT DISTINCT {c} FROM jumin WHERE {c} IS NOT NULL").fetchall()}  # noqa: E731
        return {c: col(c) for c in ("kojin_bango", "jumin_code", "atena_no", "shimei")}
    finally:
        con.close()
        shutil.rmtree(tmp)


# ====================================================================== the installation itself

def test_layout_and_modes(inst):
    """Data, keys and log are the service account's only; configuration is root's."""
    svc = pwd.getpwnam("juki").pw_uid
    for p in (inst.data, inst.prefix / "exports", inst.prefix / "var"):
        st = p.stat()
        assert st.st_uid == svc and stat.S_IMODE(st.st_mode) == 0o700, p
    for p in inst.data.iterdir():
        assert p.stat().st_uid == svc and not p.stat().st_mode & 0o077, p
    for p in (inst.prefix / "etc", inst.prefix / "venv", inst.prefix / "bin" / "juki", inst.prefix / "libexec" / "juki-entry"):
        assert p.stat().st_uid == 0 and not p.stat().st_mode & 0o022, p
    ops = inst.prefix / "etc" / "operators.toml"
    assert ops.stat().st_uid == 0 and stat.S_IMODE(ops.stat().st_mode) == 0o640
    w = inst.prefix / "witness" / "oplog.witness"
    assert pwd.getpwuid(w.stat().st_uid).pw_name == "juki-witness"
    # the store recorded the log head from its very first write
    import duckdb
    tmp = Path(tempfile.mkdtemp())
    shutil.copy(inst.data / "juki.duckdb", tmp / "r.duckdb")
    con = duckdb.connect(str(tmp / "r.duckdb"), read_only=True)
    head = json.loads(con.execute("SELECT value FROM juki_meta WHERE key = 'oplog_head'").fetchone()[0])
    con.close()
    shutil.rmtree(tmp)
    assert head and head["seq"] >= 1


def test_readme_server_recipe_is_what_setup_server_does():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash bin/setup-server" in readme
    section = readme.split("## A shared server", 1)[1].split("\n## ", 1)[0]
    for word in ("juki-administrator", "juki-analyst", "juki-scheduler", "sudo", "juki-witness", "serve-tables",
                 "audit verify"):
        assert word in section, word
    script = (ROOT / "bin" / "setup-server").read_text(encoding="utf-8")
    for cmd in re.findall(r"^\s*(usermod -aG [^\n]+)$", section, flags=re.M):
        assert "usermod -aG" in script or cmd


# ====================================================================== the attacks

def test_rogue_policy_for_the_daily_purge(inst, tmp_path):
    pol = Path("/tmp/jt-rogue-policy.toml")
    pol.write_text('[[rule]]\nid = "sofusaki_sent"\ntable = "jumin"\nrows = "TRUE"\ndate = "ido_date"\n'
                   'period = "0d"\naction = "erase"\n', encoding="utf-8")
    pol.chmod(0o644)
    n = len(inst.entries())
    p = inst.juki("jt-sched", "purge", "--only", "sofusaki_sent", "--policy", str(pol))
    caught("scheduler's own policy erasing the 住民基本台帳ファイル", refused_and_logged(inst, p, "jt-sched", n, "--policy"))
    pol.unlink()


def test_run_any_notebook_by_path(inst):
    evil = Path("/tmp/jt-evil.ipynb")
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1", "outputs": [],
                     "execution_count": None}], "metadata": {"juki": {"roles": ["analyst"], "store": "none"}},
          "nbformat": 4, "nbformat_minor": 4}
    evil.write_text(json.dumps(nb))
    evil.chmod(0o644)
    for name in ("../../tmp/jt-evil", str(evil), "../share/notebooks/01_data_quality"):
        n = len(inst.entries())
        p = inst.juki("jt-analyst", "run", name)
        caught(f"juki run {name}", refused_and_logged(inst, p, "jt-analyst", n, "not a path"))
    n = len(inst.entries())
    p = inst.juki("jt-analyst", "run", "01_data_quality")
    caught("an installed notebook the role may not run", refused_and_logged(inst, p, "jt-analyst", n, "may not use"))
    evil.unlink()


def test_reviewer_reads_the_registry_with_python(inst):
    code = ("import duckdb; c = duckdb.connect('%s', read_only=True); print(c.execute('select shimei, kojin_bango "
            "from jumin limit 1').fetchall())") % (inst.data / "juki.duckdb")
    p = inst.py("jt-reviewer", code)
    caught("reviewer opens the store with duckdb", p.returncode != 0 and "Permission denied" in p.stderr, "OS: EACCES")
    p = inst.py("jt-reviewer", "from juki import store; store.connect().con.execute('select shimei from jumin')")
    caught("reviewer calls store.connect() in plain Python", p.returncode != 0 and "shimei" not in p.stdout, "OS: EACCES")
    p = inst.py("jt-reviewer", "from juki import store; store.open_duckdb(None)")
    caught("store.open_duckdb(None) with no role check", p.returncode != 0, "OS: EACCES")
    p = inst.py("jt-analyst", "import datetime as d; from juki.retention import purge; "
                "purge.apply(None, d.date(2200, 1, 1), operator='x')")
    caught("retention purge called directly as an analyst", p.returncode != 0, "OS: EACCES")


def test_out_cannot_overwrite(inst):
    for out in ("../data/oplog.jsonl", str(inst.data / "juki.duckdb"), "/tmp/jt-link"):
        n = len(inst.entries())
        p = inst.juki("jt-clerk", "export", "--file", "sofusaki", "--out", out)
        caught(f"export --out {out}", refused_and_logged(inst, p, "jt-clerk", n, "plain file name"))
    n = len(inst.entries())
    p = inst.juki("jt-admin", "publish-analysis", "--out", str(inst.log))
    caught("publish-analysis --out the log", refused_and_logged(inst, p, "jt-admin", n, "--out"))
    for opt in ("--db", str(inst.log)), ("--db", "/tmp/x.duckdb"):
        n = len(inst.entries())
        p = inst.juki("jt-admin", "purge", "--dry-run", *opt)
        caught(f"purge {' '.join(opt)}", refused_and_logged(inst, p, "jt-admin", n, "--db"))
    # a name is created new in the exports folder, with its full path and digest logged; never twice
    ok = inst.juki("jt-clerk", "export", "--file", "sofusaki", "--out", "sofusaki.csv")
    assert ok.returncode == 0, ok.stderr
    e = inst.last()
    assert e["action"] == "export" and str(inst.prefix / "exports" / "jt-clerk" / "sofusaki.csv") in e["detail"]
    assert "sha256" in e["detail"]
    n = len(inst.entries())
    again = inst.juki("jt-clerk", "export", "--file", "sofusaki", "--out", "sofusaki.csv")
    caught("export over an earlier export", refused_and_logged(inst, again, "jt-clerk", n, "exists"))
    # standard output: the caller's own shell writes the file
    out = inst.juki("jt-clerk", "export", "--file", "sofusaki", "--out", "-")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") > 1 and "sha256" in out.stderr


def test_future_dated_purge_and_floors(inst, tmp_path):
    n = len(inst.entries())
    p = inst.juki("jt-admin", "purge", "--as-of", "2200-01-01")
    caught("purge --as-of 2200-01-01", refused_and_logged(inst, p, "jt-admin", n, "after today"))
    dry = inst.juki("jt-admin", "purge", "--dry-run", "--as-of", "2200-01-01")
    assert dry.returncode == 0, dry.stderr          # seeing what a later date would purge is fine
    # a new rule id does not get round a floor: floors belong to the table
    from juki.errors import JukiError
    from juki.retention.policy import _read
    for table, extra in (("jumin_joshu", ""), ("honnin", ""), ("jumin", 'to = "jumin_joshu"\n'), ("oplog", "")):
        f = tmp_path / f"{table}.toml"
        action = "move" if table == "jumin" else "erase"
        f.write_text(f'[[rule]]\nid = "tidy_up"\ntable = "{table}"\nrows = "TRUE"\ndate = "x"\nperiod = "0d"\n'
                     f'action = "{action}"\n{extra}', encoding="utf-8")
        with pytest.raises(JukiError):
            _read(f)
    caught("a rule 'tidy_up' with period 0d on every protected table", True, "policy load: one line")


def test_profile_paths_and_unregistered_profiles(inst):
    prof = Path("/tmp/jt-kokuho.toml")
    prof.write_text('recipient = "国民健康保険課"\npurpose = "-"\nallows_number = true\n[items]\nhonnin = "all"\n', encoding="utf-8")
    prof.chmod(0o644)
    n = len(inst.entries())
    p = inst.juki("jt-clerk", "export", "--file", "honnin", "--profile", str(prof), "--out", "-")
    caught("a self-made profile path", refused_and_logged(inst, p, "jt-clerk", n, "not a path"))
    n = len(inst.entries())
    p = inst.juki("jt-clerk", "export", "--file", "honnin", "--profile", "made_up", "--out", "-")
    caught("a profile name not in etc/", refused_and_logged(inst, p, "jt-clerk", n, "no export profile"))
    prof.unlink()


def test_root_config_changes_are_logged(inst):
    f = inst.prefix / "etc" / "export_profiles" / "senkyo.toml"
    reg = inst.prefix / "etc" / "recipients.toml"
    old, old_reg = f.read_text(encoding="utf-8"), reg.read_text(encoding="utf-8")
    try:
        f.write_text(old + "\n# changed by root\n", encoding="utf-8")
        reg.write_text(old_reg + "\n# a recipient added by root\n", encoding="utf-8")
        inst.juki("jt-analyst", "table", "--dates")
        changes = [e for e in inst.entries() if e["action"] == "config_changed"]
        caught("a changed export profile", any("senkyo.toml" in e["detail"] for e in changes), "detected: log entry")
        files = [c for e in changes for c in e["params"]["files"] if c["file"].endswith("recipients.toml")]
        caught("a changed register of recipients", bool(files) and files[-1]["owner"] == "root"
               and files[-1]["modified"][:4].isdigit(), "detected: log entry with who (owner) and when")
    finally:
        f.write_text(old, encoding="utf-8")
        reg.write_text(old_reg, encoding="utf-8")
        inst.juki("jt-analyst", "table", "--dates")


def test_search_enumeration_is_flagged_and_shows_years(inst):
    import duckdb
    tmp = Path(tempfile.mkdtemp())
    shutil.copy(inst.data / "juki.duckdb", tmp / "r.duckdb")
    con = duckdb.connect(str(tmp / "r.duckdb"), read_only=True)
    rows = con.execute("SELECT DISTINCT genjusho, year(seinengappi) FROM jumin WHERE genjusho IS NOT NULL "
                       "ORDER BY 1, 2 LIMIT 40").fetchall()
    name, birth = con.execute("SELECT shimei, seinengappi FROM jumin ORDER BY atena_no LIMIT 1").fetchone()
    con.close()
    shutil.rmtree(tmp)
    ops = inst.prefix / "etc" / "operators.toml"
    old = ops.read_text(encoding="utf-8")
    ops.write_text(old.replace("search_daily_limit = 30", "search_daily_limit = 5"), encoding="utf-8")
    try:
        outs = [inst.juki("jt-reviewer", "search", "--address", addr, "--birth-date", str(year)) for addr, year in rows[:7]]
    finally:
        ops.write_text(old, encoding="utf-8")
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    flagged = [e for e in inst.entries() if e["action"] == "search" and "many_searches" in e.get("flags", [])]
    caught("a reviewer's sweep of 丁目 × birth year", len(flagged) >= 2, "flagged in the log and the access audit")
    shown = "\n".join(o.stdout for o in outs)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", shown), "a full birth date was shown without being given"
    full = inst.juki("jt-reviewer", "search", "--name", name, "--birth-date", birth.isoformat())
    assert full.returncode == 0 and birth.isoformat() in full.stdout
    rep = inst.juki("jt-admin", "run", "05_access_audit")
    assert rep.returncode == 0, rep.stderr
    html = next((inst.prefix / "reports").glob("*05_access_audit/05_access_audit.html")).read_text(encoding="utf-8")
    assert "大量の検索" in html and "jt-reviewer" in html.split("大量の検索", 1)[1][:5000]


def test_unknown_account_gets_one_line_and_a_log_entry(inst):
    for args in (("table",), ("generate", "--residents", "10"), ("audit", "verify")):
        n = len(inst.entries())
        p = inst.juki("jt-nobody", *args)
        caught(f"an account with no role: juki {args[0]}", refused_and_logged(inst, p, "jt-nobody", n, "holds no juki role"))
        assert "Traceback" not in p.stderr


def test_explorer_token_is_not_on_a_command_line(inst):
    port = 18866 + os.getpid() % 1000
    p = subprocess.Popen([RUNUSER, "-u", "jt-analyst", "--", str(inst.prefix / "bin" / "juki"), "explore",
                          "--port", str(port), "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=inst.env("jt-analyst"), cwd="/tmp", start_new_session=True, text=True)
    try:
        line = p.stdout.readline()
        assert "token=" in line, (line, p.stderr.read() if p.poll() is not None else "")
        token = line.split("token=", 1)[1].split()[0]

        def voila_pids():
            out = []
            for d in Path("/proc").iterdir():
                if d.name.isdigit():
                    try:
                        if b"voila" in (d / "cmdline").read_bytes():
                            out.append(d)
                    except OSError:
                        continue
            return out
        _wait_for(lambda: voila_pids(), "Voilà to start")
        leaked = [d for d in voila_pids() if token.encode() in (d / "cmdline").read_bytes()]
        env_read = subprocess.run([RUNUSER, "-u", "jt-reviewer", "--", "cat", f"{voila_pids()[0]}/environ"],
                                  capture_output=True)
        caught("the explorer's token in /proc/PID/cmdline or another account's view of its environment",
               not leaked and env_read.returncode != 0, "not there / OS: EACCES")
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=60)


# ====================================================================== the log and its witness

def _rewrite_as_service(inst, script: str) -> subprocess.CompletedProcess:
    return subprocess.run([RUNUSER, "-u", "juki", "--", str(inst.prefix / "venv" / "bin" / "python"), "-c", script],
                          capture_output=True, text=True, cwd="/tmp", timeout=300)


REHASH = r'''
import hashlib, hmac, json, pathlib
p = pathlib.Path("{log}")
es = [json.loads(x) for x in p.read_text().splitlines() if x.strip()]
es[{victim}]["detail"] = "nothing happened"
prev = es[0]["prev"]
for e in es:
    e["prev"] = prev
    body = {{k: v for k, v in e.items() if k != "hash"}}
    e["hash"] = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    prev = e["hash"]
p.write_text("".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in es))
key = pathlib.Path(str(p) + ".key").read_bytes()
last = es[-1]
mac = hmac.new(key, f"{{last['seq']}}|{{last['hash']}}".encode(), hashlib.sha256).hexdigest()
pathlib.Path(str(p) + ".anchor").write_text(json.dumps({{"seq": last["seq"], "head": last["hash"], "mac": mac, "at": "x"}}))
'''


def test_service_owner_rewrites_the_log_with_the_key(inst, pristine):
    victim = 2
    r = _rewrite_as_service(inst, REHASH.format(log=inst.log, victim=victim))
    assert r.returncode == 0, r.stderr
    seq = inst.entries()[victim]["seq"]
    for who in ("root", "jt-auditor"):
        v = inst.juki(who, "audit", "verify")
        caught(f"re-hashed, re-keyed log verified by {who}", v.returncode == 1 and "TAMPERED" in v.stderr
               and f"seq {seq}" in v.stderr, "detected: TAMPERED from the entry")
    # the service account cannot touch the witness
    w = inst.prefix / "witness" / "oplog.witness"
    r = _rewrite_as_service(inst, f"open('{w}', 'w').write('')")
    caught("service account truncates the witness", r.returncode != 0 and inst.witness(), "OS: EACCES")
    r = subprocess.run([RUNUSER, "-u", "juki", "--", "/usr/bin/sudo", "-n", "-u", "juki-witness",
                        str(inst.prefix / "libexec" / "juki-witness"), "1", "0" * 64, "2026-01-01T00:00:00"],
                       capture_output=True, text=True)
    caught("service account re-witnesses an old seq", r.returncode != 0 and "not after" in r.stderr, "witness: refused")


def test_handmade_anchor_entry_and_deleted_log(inst, pristine):
    es = inst.entries()
    anchor = {"seq": es[14]["seq"], "action": "anchor", "chain": es[14]["hash"], "prev": None}
    body = {k: v for k, v in anchor.items()}
    import hashlib
    anchor["hash"] = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    forged = [json.dumps(anchor, ensure_ascii=False, sort_keys=True)] + [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in es[15:]]
    inst.log.write_text("\n".join(forged) + "\n", encoding="utf-8")
    v = inst.juki("root", "audit", "verify")
    caught("a hand-made anchor entry replacing the first 15 entries", v.returncode == 1 and "TAMPERED" in v.stderr)
    for f in (inst.log, Path(str(inst.log) + ".anchor"), Path(str(inst.log) + ".key")):
        f.unlink(missing_ok=True)
    v = inst.juki("root", "audit", "verify")
    caught("log, anchor and key deleted", v.returncode == 1 and "TAMPERED" in v.stderr and "deleted" in v.stderr)
    q = inst.juki("jt-analyst", "table")
    caught("a use after the log was deleted", one_line(q) != "" and "witness" in one_line(q), "refused: one line")


def _restore(inst, copy: Path) -> None:
    shutil.rmtree(inst.data)
    shutil.copytree(copy, inst.data, symlinks=True)
    svc = pwd.getpwnam("juki")
    for p in [inst.data, *inst.data.rglob("*")]:
        os.chown(p, svc.pw_uid, svc.pw_gid, follow_symlinks=False)


def test_rollback_of_the_data_folder(inst):
    backup, now = inst.prefix / "data.backup", inst.prefix / "data.now"
    for d in (backup, now):
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(inst.data, backup, symlinks=True)
    before = inst.entries()[-1]["seq"]
    pu = inst.juki("jt-admin", "purge", "--only", "sofusaki_sent")
    assert pu.returncode == 0, pu.stderr
    after = inst.entries()
    shutil.copytree(inst.data, now, symlinks=True)
    try:
        _restore(inst, backup)
        _check_rollback(inst, before, after)
    finally:
        _restore(inst, now)         # the state the witness knows, for the other tests
        shutil.rmtree(backup)
        shutil.rmtree(now)


def _check_rollback(inst, before, after):
    v = inst.juki("root", "audit", "verify")
    caught("the data folder restored from a backup (a purge undone)",
           v.returncode == 1 and "TAMPERED" in v.stderr and f"seq {before + 1}" in v.stderr and "rolled back" in v.stderr,
           "detected: TAMPERED since the first lost entry")
    q = inst.juki("jt-admin", "purge", "--dry-run")
    caught("a use after the rollback", "witness" in one_line(q), "refused: one line")
    assert len(after) > before


# ====================================================================== more of our own

def test_files_under_the_prefix_are_out_of_reach(inst):
    secret = [inst.data / n for n in ("juki.duckdb", "analysis.duckdb", "oplog.jsonl", "oplog.jsonl.key",
                                      "oplog.jsonl.anchor", "ckm.key")] + [inst.prefix / "etc" / "operators.toml"]
    for who in ("jt-analyst", "jt-reviewer", "jt-clerk", "jt-admin"):
        code = ("import sys\nbad=[]\nfor f in sys.argv[1:]:\n    try:\n        open(f,'rb').read(1); bad.append(f)\n"
                "    except OSError: pass\nprint(bad)")
        p = inst.run(who, "/usr/bin/python3", "-c", code, *secret)
        caught(f"{who} opens the stores, log, keys and operators file", p.stdout.strip() == "[]", "OS: EACCES")
    p = inst.run("jt-analyst", "/usr/bin/ls", inst.prefix / "exports", inst.prefix / "reports")
    caught("analyst lists exports and reports", p.returncode != 0, "OS: EACCES")
    for who in ("jt-analyst", "juki"):
        p = inst.run(who, "/usr/bin/python3", "-c", f"open('{inst.prefix / 'venv' / 'pyvenv.cfg'}', 'a').write('x')")
        caught(f"{who} changes juki's code or interpreter", p.returncode != 0, "OS: EACCES")


def test_direct_crossings_are_refused(inst):
    entry = inst.prefix / "libexec" / "juki-entry"
    p = inst.run("jt-analyst", "/usr/bin/sudo", "-n", "-u", "juki", "/bin/cat", inst.log)
    caught("sudo -u juki cat the log", p.returncode != 0, "sudo: refused")
    p = inst.run("jt-analyst", "/usr/bin/sudo", "-n", "-E", "-u", "juki", entry, "table")
    caught("sudo -E to keep one's environment", p.returncode != 0, "sudo: refused")
    p = inst.run("jt-analyst", "/usr/bin/sudo", "-n", "-u", "juki", "SUDO_USER=jt-admin", entry, "generate")
    caught("sudo with a forged SUDO_USER", p.returncode != 0, "sudo: refused")
    p = inst.run("jt-analyst", entry, "table")
    caught("juki-entry run without sudo", p.returncode != 0 and "runs only as" in p.stderr, "entry: one line")
    p = inst.run("jt-analyst", "/usr/bin/sudo", "-n", "-u", "juki-witness", inst.prefix / "libexec" / "juki-witness",
                 "999999", "0" * 64, "2026-01-01T00:00:00")
    caught("analyst feeds the witness", p.returncode != 0, "sudo: refused")
    p = inst.run("jt-analyst", "/usr/bin/sudo", "-n", "-u", "root", "/bin/true")
    caught("analyst asks sudo for root", p.returncode != 0, "sudo: refused")


def test_environment_and_python_path_do_not_cross(inst, tmp_path):
    evil = Path(tempfile.mkdtemp(prefix="jt-evil-", dir="/tmp"))
    evil.chmod(0o755)
    (evil / "juki").mkdir()
    marker = evil / "ran"
    (evil / "juki" / "__init__.py").write_text(f"open('{marker}', 'w').write('pwned')\n")
    (evil / "start.py").write_text(f"open('{marker}', 'w').write('pwned')\n")
    for p in evil.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    ops = Path("/tmp/jt-ops.toml")
    ops.write_text('[[operator]]\nid = "x"\nos_user = "jt-analyst"\nroles = ["administrator"]\n')
    ops.chmod(0o644)
    n = len(inst.entries())
    p = inst.juki("jt-analyst", "generate", "--residents", "10", "--force",
                  extra_env={"PYTHONPATH": str(evil), "PYTHONSTARTUP": str(evil / "start.py"), "JUKI_OPERATORS": str(ops),
                             "JUKI_DATA": str(evil), "JUKI_OPERATOR": "jt-admin", "LD_PRELOAD": ""})
    caught("PYTHONPATH/PYTHONSTARTUP/JUKI_* variables through the crossing",
           not marker.exists() and refused_and_logged(inst, p, "jt-analyst", n, "may not use"))
    shutil.rmtree(evil)
    ops.unlink()


def test_roles_come_from_groups_and_the_file_can_only_narrow(inst):
    ops = inst.prefix / "etc" / "operators.toml"
    old = ops.read_text(encoding="utf-8")
    try:
        ops.write_text(old + '\n[[operator]]\nid = "analyst99"\nos_user = "jt-analyst"\nroles = ["administrator", "analyst"]\n'
                       '\n[[operator]]\nid = "reviewer99"\nos_user = "jt-reviewer"\nroles = ["reviewer"]\nenabled = false\n',
                       encoding="utf-8")
        n = len(inst.entries())
        p = inst.juki("jt-analyst", "purge", "--dry-run")
        caught("operators.toml granting administrator beyond the groups", refused_and_logged(inst, p, "jt-analyst", n))
        n = len(inst.entries())
        p = inst.juki("jt-reviewer", "run", "01_data_quality")
        caught("a disabled operator still in the group", refused_and_logged(inst, p, "jt-reviewer", n, "disabled"))
    finally:
        ops.write_text(old, encoding="utf-8")
    for who, args, word in (("jt-sched", ("search", "--name", "山田太郎", "--birth-date", "1980-01-01"), "may not"),
                            ("jt-sched", ("export", "--file", "jumin", "--out", "-"), "may not"),
                            ("jt-sched", ("purge",), "may not"),
                            ("jt-reviewer", ("table",), "may not"),
                            ("jt-analyst", ("audit", "verify"), "may not"),
                            ("jt-analyst", ("search", "--name", "山田太郎", "--birth-date", "1980-01-01"), "may not"),
                            ("jt-reviewer", ("export", "--file", "jumin", "--profile", "kokuho", "--out", "-"), "may not")):
        n = len(inst.entries())
        p = inst.juki(who, *args)
        caught(f"{who}: juki {' '.join(args[:2])}", refused_and_logged(inst, p, who, n, word))


def test_table_service_answers_analysts_only_with_protected_tables(inst):
    code = ("from juki.tables import query\n"
            "import itertools\n"
            "vals = []\n"
            "for lo, sex in itertools.product((0, 20, 40, 60, 80), ('男女計', '男', '女')):\n"
            "    df = query(age=(lo, lo + 19), sex=sex)\n"
            "    vals += [int(v) for v in df.to_numpy().ravel() if str(v).lstrip('-').isdigit()]\n"
            "import json; print(json.dumps(vals))")
    p = inst.py("jt-analyst", code)
    assert p.returncode == 0, p.stderr
    vals = json.loads(p.stdout)
    caught("analyst's query() returns a 1 or 2", len(vals) > 50 and not ({1, 2} & set(vals)), "service: perturbed, no 1/2")
    e = [x for x in inst.entries() if x["action"] == "table" and x["os_user"] == "jt-analyst"]
    assert e and "ages" in e[-1]["params"] and not any(k in json.dumps(e[-1]) for k in ("男\": ", "計\": "))
    p = inst.py("jt-nobody", "from juki.tables import query; query()")
    caught("a no-role account through the socket", p.returncode != 0 and "holds no juki role" in p.stderr
           and inst.last().get("os_user") == "jt-nobody")
    # the socket takes only table requests
    import socket as so
    s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
    s.connect(str(inst.prefix / "run" / "tables.sock"))
    s.sendall(b'{"args": ["--area", "x; generate"]}\n')
    answer = json.loads(s.makefile().readline())
    s.close()
    caught("a command smuggled through the socket", not answer["ok"], "service: one line")


def test_what_the_analyst_can_read_holds_no_person(inst):
    """Every file the analyst account can open (under the prefix, /tmp, /var/tmp, /dev/shm and its
    home; the third-party packages of the venv aside) holds no name, number, code or row key."""
    truth = registry_truth(inst)
    pw = pwd.getpwnam("jt-analyst")
    gids = set(os.getgrouplist("jt-analyst", pw.pw_gid))

    def can(p: Path, bit: int) -> bool:
        st = p.stat()
        if st.st_uid == pw.pw_uid:
            return bool(st.st_mode & (bit << 6))
        if st.st_gid in gids:
            return bool(st.st_mode & (bit << 3))
        return bool(st.st_mode & bit)

    def walk(top: Path):
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                if not (can(d, 1) and can(d, 4)):
                    continue
                kids = list(d.iterdir())
            except OSError:
                continue
            for k in kids:
                if k.is_symlink():
                    continue
                if k.is_dir():
                    if k.name == "site-packages":
                        stack.append(k / "juki") if (k / "juki").exists() else None
                        continue
                    stack.append(k)
                elif k.is_file() and can(k, 4):
                    yield k

    tops = [inst.prefix, Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path(pw.pw_dir)]
    numbers = re.compile(rb"\d{11,15}")
    # a name as the registry writes it: kanji/kana, an ideographic space, kanji/kana (UTF-8)
    name_like = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf]{2}){1,8}\xe3\x80\x80(?:[\xe3-\xe9][\x80-\xbf]{2}){1,8}")
    # names written in juki's own source (doctest examples such as 山田　太郎) are not the registry's,
    # even when the synthetic city happens to hold someone of that name
    examples = {m.decode("utf-8", "replace") for p in (ROOT / "juki").rglob("*.py") for m in name_like.findall(p.read_bytes())}
    scanned, hits = 0, []
    for top in tops:
        for f in walk(top):
            if inst.prefix / "data.keep" in f.parents:
                continue
            try:
                if f.stat().st_size > 50_000_000:
                    continue
                b = f.read_bytes()
            except OSError:
                continue
            scanned += 1
            for m in numbers.findall(b):
                s = m.decode()
                if s in truth["kojin_bango"] or s in truth["jumin_code"] or s in truth["atena_no"]:
                    hits.append((str(f), "number"))
                    break
            if b[8:12] == b"DUCK" or b[:4] == b"PAR1":
                hits.append((str(f), "a store"))
            if any(n in truth["shimei"] and n not in examples for n in (m.decode("utf-8", "replace") for m in name_like.findall(b))):
                hits.append((str(f), "name"))
    caught(f"analyst scans {scanned} readable files for persons", scanned > 50 and not hits, f"none found {hits[:3]}")


def test_monthly_report_runs_from_the_service_accounts_cron(inst):
    tag = re.sub(r"[^A-Za-z0-9_-]", "_", str(inst.prefix))
    line = next(ln for ln in (Path("/etc/cron.d") / f"juki{tag}").read_text().splitlines()
                if " report " in ln and not ln.startswith("#"))
    fields = line.split(None, 6)
    user, command = fields[5], fields[6].replace("\\%", "%")
    assert user == "juki"
    p = subprocess.run([RUNUSER, "-u", user, "--", "/bin/sh", "-c", command], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": str(inst.prefix / "var" / "home")},
                       cwd="/", timeout=1800)
    assert p.returncode == 0, (inst.prefix / "var" / "report.log").read_text()[-3000:]
    idx = list((inst.prefix / "reports").glob("*/index.html"))
    assert idx, list((inst.prefix / "reports").iterdir())
    mode = stat.S_IMODE(idx[0].stat().st_mode)
    assert mode == 0o640 and idx[0].stat().st_gid == __import__("grp").getgrnam("juki-administrator").gr_gid
    e = [x for x in inst.entries() if x["action"] == "report"]
    assert e and e[-1]["os_user"] == "juki" and e[-1]["outcome"] == "ok"
    v = inst.juki("root", "audit", "verify")
    assert v.returncode == 0 and "witness" in v.stdout, v.stderr


def test_zz_every_attack_was_caught(inst):
    """The count for the closing note (runs last in this file; alone it still checks its own)."""
    if not ATTACKS:
        pytest.skip("run with the attacks of this file")
    missed = [a for a, _, ok in ATTACKS if not ok]
    print(f"\nboundary attacks: {len(ATTACKS)} tried, {len(ATTACKS) - len(missed)} caught")
    for name, how, ok in ATTACKS:
        print(f"  {'caught' if ok else 'MISSED'}  {name}  [{how}]")
    assert not missed
