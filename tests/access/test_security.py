"""Attacks on accountability, played one by one: each must be refused or detected, with a clear
one-line message and a log entry.  The last test counts the attacks tried and caught."""
import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from juki import store
from juki.access import reveal_number
from juki.access.roles import Refused
from juki.log import oplog
from juki.search import search

from ..conftest import AS_OF, ME

ATTACKS: list[tuple[str, bool]] = []


def caught(name: str, ok: bool, why: str = ""):
    ATTACKS.append((name, bool(ok)))
    assert ok, f"{name}: not caught {why}"


def juki(*args, env=None):
    return subprocess.run([sys.executable, "-m", "juki", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def one_line(p) -> str:
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    return lines[0] if p.returncode != 0 and len(lines) == 1 and lines[0].startswith("juki:") else ""


def last_entry(log):
    es = oplog.entries(log)
    return es[-1] if es else {}


@pytest.fixture
def db(tmp_path, small_db):
    p = tmp_path / "store" / "juki.duckdb"
    p.parent.mkdir(mode=0o700)
    shutil.copy(small_db, p)
    p.chmod(0o600)
    return p


def person(db):
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("""SELECT atena_no, shimei, seinengappi, genjusho FROM jumin
        QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no) ORDER BY atena_no LIMIT 1""").fetchone()
    con.close()
    return row


# ---------------------------------------------------------------- who is running

def test_impersonation_by_flag(log, act_as, db):
    act_as("analyst01")
    p = juki("search", "--name", "山田　太郎", "--birth-date", "1980-01-01", "--db", str(db), "--operator", "admin01")
    e = last_entry(log)
    caught("impersonation by --operator", "not accepted" in one_line(p) and e.get("outcome") == "refused"
           and e.get("operator") == "analyst01")


def test_impersonation_by_variable(log, act_as, db):
    act_as("analyst01")
    p = juki("run", "03_retention_purge", "--db", str(db), env={"JUKI_OPERATOR": "admin01"})
    e = last_entry(log)
    caught("impersonation by JUKI_OPERATOR", "not honoured" in one_line(p) and e.get("outcome") == "refused")
    p = juki("run", "03_retention_purge", "--db", str(db), env={"USER": "admin", "LOGNAME": "admin"})
    caught("impersonation by USER/LOGNAME", "analyst01" in one_line(p) and last_entry(log)["outcome"] == "refused")


def test_forged_sudo_uid_is_ignored_unless_running_as_the_data_owner(log, act_as, tmp_path):
    from juki.access import identity
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 54321, 54321)           # the data folder belongs to someone else: we are not its owner
    env_data = os.environ["JUKI_DATA"]
    try:
        os.environ["JUKI_DATA"] = str(data)
        os.environ["SUDO_UID"] = "0" if os.getuid() else "1"
        account, via_sudo = identity.os_account()
    finally:
        os.environ["JUKI_DATA"] = env_data
        os.environ.pop("SUDO_UID", None)
    caught("forged SUDO_UID", account == ME and not via_sudo)


def test_untrusted_operators_file(log, tmp_path, db, monkeypatch):
    bad = tmp_path / "ops.toml"
    shutil.copy(os.environ["JUKI_OPERATORS"], bad)
    bad.chmod(0o666)
    monkeypatch.setenv("JUKI_OPERATORS", str(bad))
    p = juki("purge", "--only", "sofusaki_sent", "--db", str(db))
    caught("world-writable operators file", "not trusted" in one_line(p) and last_entry(log)["outcome"] == "refused")
    bad.chmod(0o600)
    os.chown(bad, 54321, 54321)
    p = juki("purge", "--only", "sofusaki_sent", "--db", str(db))
    caught("operators file owned by another account", "not trusted" in one_line(p))


def test_unknown_account(log, act_as, db):
    act_as(None)
    p = juki("report", "--as-of", AS_OF.isoformat(), "--db", str(db))
    caught("account no operator is mapped to", "is not an operator" in one_line(p)
           and last_entry(log)["outcome"] == "refused" and last_entry(log)["os_user"] == ME)


# ---------------------------------------------------------------- roles and disabled operators

ENTRY_POINTS = [
    ("generate", lambda db, tmp: ["generate", "--residents", "10", "--db", str(tmp / "new.duckdb"), "--as-of", "2026-04-01"]),
    ("load", lambda db, tmp: ["load", str(tmp / "x.csv"), "--db", str(db)]),
    ("export", lambda db, tmp: ["export", "--file", "jumin", "--out", str(tmp / "e.csv"), "--db", str(db)]),
    ("search", lambda db, tmp: ["search", "--name", "山田　太郎", "--birth-date", "1980-01-01", "--db", str(db)]),
    ("purge", lambda db, tmp: ["purge", "--db", str(db)]),
    ("purge --only", lambda db, tmp: ["purge", "--only", "sofusaki_sent", "--db", str(db)]),
    ("report", lambda db, tmp: ["report", "--as-of", "2026-04-01", "--db", str(db)]),
    ("run", lambda db, tmp: ["run", "00_overview", "--db", str(db)]),
    ("publish-analysis", lambda db, tmp: ["publish-analysis", "--db", str(db), "--out", str(tmp / "a.duckdb")]),
    ("audit prune", lambda db, tmp: ["audit", "prune", "--before", "2020-01-01"]),
    ("audit person", lambda db, tmp: ["audit", "person", "1000000019"]),
]


@pytest.mark.parametrize("name, args", ENTRY_POINTS, ids=[n for n, _ in ENTRY_POINTS])
def test_a_disabled_operator_can_do_nothing(log, act_as, db, tmp_path, name, args):
    (tmp_path / "x.csv").write_text("宛名番号\n1\n", encoding="utf-8")
    act_as("retired01")
    p = juki(*args(db, tmp_path))
    e = last_entry(log)
    caught(f"disabled operator: {name}", "disabled" in one_line(p) and e.get("outcome") == "refused"
           and e.get("operator") == "retired01")


def test_disabled_operator_in_the_library(log, act_as, db, small_db):
    act_as("retired01")
    with pytest.raises(Refused, match="disabled"):
        reveal_number("621498320257", person="1000000019")
    caught("disabled operator: reveal", last_entry(log)["outcome"] == "refused")
    from juki.analysis.store import Analysis
    with pytest.raises(Refused, match="disabled"):
        Analysis(small_db.parent / "analysis.duckdb")
    caught("disabled operator: the explorer's store", last_entry(log)["outcome"] == "refused")


@pytest.mark.parametrize("operator, args", [
    ("analyst01", ["search", "--name", "山田　太郎", "--birth-date", "1980-01-01"]),
    ("analyst01", ["run", "01_data_quality"]),
    ("analyst01", ["export", "--file", "jumin", "--out", "OUT"]),
    ("scheduler", ["search", "--name", "山田　太郎", "--birth-date", "1980-01-01"]),
    ("scheduler", ["export", "--file", "jumin", "--out", "OUT"]),
    ("scheduler", ["purge"]),
    ("reviewer01", ["run", "02_population_statistics"]),
    ("admin01", ["export", "--file", "jumin", "--out", "OUT", "--profile", "migration"]),
])
def test_roles_refuse_what_a_duty_does_not_need(log, act_as, db, tmp_path, operator, args):
    act_as(operator)
    args = [a.replace("OUT", str(tmp_path / "o.csv")) for a in args] + ["--db", str(db)]
    p = juki(*args)
    caught(f"{operator}: {' '.join(args[:2])}", ("may not use" in one_line(p) or "disabled" in one_line(p))
           and last_entry(log)["outcome"] == "refused" and not (tmp_path / "o.csv").exists())


def test_an_analyst_code_path_cannot_open_the_registry(log, act_as, db):
    act_as("analyst01")
    with pytest.raises(Refused):
        store.connect(db)
    caught("analyst opens the registry in a kernel", last_entry(log)["outcome"] == "refused")


def test_generate_never_overwrites_a_store_silently(log, db):
    p = juki("generate", "--residents", "10", "--db", str(db), "--as-of", "2026-04-01")
    caught("generate over an existing store", "--force" in one_line(p) and last_entry(log)["action"] == "generate"
           and last_entry(log)["outcome"] == "failed")


# ---------------------------------------------------------------- the two-of-four search

@pytest.mark.parametrize("facts, label", [
    ({"address": " "}, "blank address"), ({"address": "市"}, "bare 市"), ({"address": "千葉県松戸市"}, "city only"),
    ({"birth_date": "1980-02-30"}, "impossible birth date"), ({"sex": "1"}, "sex"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_meaningless_facts_do_not_count(log, act_as, db, facts, label):
    act_as("reviewer01")
    name = person(db)[1]
    con = store.connect(db)
    with pytest.raises(Refused, match="two of name, address and birth date"):
        search(con, name=name, **facts)
    caught(f"search with a name and {label}", last_entry(log)["outcome"] == "refused")


def test_a_one_letter_name_does_not_count(log, act_as, db):
    act_as("reviewer01")
    _, name, birth, _ = person(db)
    with pytest.raises(Refused):
        search(store.connect(db), name=name[:1], birth_date=birth)
    caught("search with a one-letter name", last_entry(log)["outcome"] == "refused")


# ---------------------------------------------------------------- the log

def _fill(log, n=6):
    for i in range(n):
        oplog.append("run", f"nb{i}", operator="tester", os_user=ME)
    assert oplog.verify(log)[0]
    return log.read_text(encoding="utf-8").splitlines()


def _write(log, lines):
    log.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def test_log_tampering_is_detected(log):
    good = _fill(log)
    e = json.loads(good[2])
    e["operator"] = "someone_else"
    cases = {
        "edited entry": good[:2] + [json.dumps(e, ensure_ascii=False, sort_keys=True)] + good[3:],
        "deleted entry": good[:3] + good[4:],
        "reordered entries": good[:2] + [good[3], good[2]] + good[4:],
        "truncated tail": good[:-3],
    }
    for name, lines in cases.items():
        _write(log, lines)
        ok, msg = oplog.verify(log)
        caught(f"log: {name}", not ok, msg)
    # delete an entry and re-hash everything after it: the chain is whole again, the anchor is not
    rehashed, prev = [], oplog.GENESIS
    for ln in good[:3] + good[4:]:
        x = json.loads(ln)
        x["prev"] = prev
        x["seq"] = len(rehashed) + 1
        x["hash"] = oplog._hash(x)
        prev = x["hash"]
        rehashed.append(json.dumps(x, ensure_ascii=False, sort_keys=True))
    _write(log, rehashed)
    ok, msg = oplog.verify(log)
    caught("log: deleted and re-hashed", not ok and ("anchor" in msg or "rewritten" in msg or "truncated" in msg), msg)
    # an entry appended by hand (no anchor move)
    _write(log, good)
    x = json.loads(good[-1])
    forged = dict(x, seq=x["seq"] + 1, prev=x["hash"], target="forged")
    forged["hash"] = oplog._hash(forged)
    _write(log, good + [json.dumps(forged, ensure_ascii=False, sort_keys=True)])
    ok, msg = oplog.verify(log)
    caught("log: entry appended by hand", not ok and "not anchored" in msg, msg)


def test_a_missing_log_is_detected(log, db):
    _fill(log)
    log.unlink()
    ok, msg = oplog.verify(log)
    caught("log: deleted file (anchor left)", not ok and "missing" in msg, msg)
    oplog.anchor_path(log).unlink()
    oplog.key_path(log).unlink()
    ok, msg = oplog.verify(log, witness={"seq": 6, "hash": "x" * 64})
    caught("log: deleted with its anchor and key (the store's witness)", not ok and "store recorded" in msg, msg)
    con = duckdb.connect(str(db))       # what every write of the store records: the log's head
    store.set_meta(con, {"oplog_head": {"seq": 6, "hash": "x" * 64}})
    con.close()
    p = juki("audit", "verify", "--db", str(db))
    caught("audit verify of a store whose log is gone", p.returncode == 1 and "TAMPERED" in p.stderr, p.stderr)


def test_a_forged_anchor_is_detected(log):
    _fill(log)
    a = json.loads(oplog.anchor_path(log).read_text(encoding="utf-8"))
    a["seq"] = 3
    oplog.anchor_path(log).write_text(json.dumps(a), encoding="utf-8")
    ok, msg = oplog.verify(log)
    caught("log: anchor edited without its key", not ok and "HMAC" in msg, msg)


def test_appending_to_a_damaged_log_is_refused(log, db):
    good = _fill(log)
    _write(log, good[:-2])
    p = juki("search", "--name", "x", "--birth-date", "1980-01-01", "--db", str(db))
    caught("work on a damaged log", "damaged" in one_line(p))


# ---------------------------------------------------------------- files and exports

def test_files_are_private(log, tmp_path):
    db = tmp_path / "city.duckdb"
    p = juki("generate", "--residents", "50", "--db", str(db), "--as-of", "2026-04-01", "--quiet")
    assert p.returncode == 0, p.stderr
    out = tmp_path / "e.csv"
    assert juki("export", "--file", "jumin", "--out", str(out), "--db", str(db)).returncode == 0
    modes = {x.name: oct(x.stat().st_mode & 0o777) for x in (db, out, log, oplog.anchor_path(log), oplog.key_path(log))}
    caught("files created readable by others", set(modes.values()) == {"0o600"}, modes)
    db.chmod(0o644)
    p = juki("run", "00_overview", "--db", str(db), env={"JUKI_REPORTS": str(tmp_path / "r")})
    caught("a world-readable store", "readable by group or others" in p.stderr and p.stderr.count("readable by group") == 1)


def test_exports_only_what_the_recipient_may_have(log, act_as, db, tmp_path):
    from stdnum.jp import in_
    out = tmp_path / "d.csv"
    assert juki("export", "--file", "jumin", "--out", str(out), "--db", str(db)).returncode == 0
    text = out.read_text(encoding="utf-8")
    import re
    numbers = [m for m in re.findall(r"(?<!\d)\d{12}(?!\d)", text) if in_.is_valid(m)]
    caught("default export carries no individual number", "個人番号" not in text.splitlines()[0].split(",") and not numbers)
    e = last_entry(log)
    assert e["params"]["recipient"] and e["params"]["purpose"] and e["persons_count"] > 100
    bad = tmp_path / "p.toml"
    bad.write_text('recipient = "x"\npurpose = "y"\n[items]\njumin = ["atena_no", "kojin_bango"]\n', encoding="utf-8")
    p = juki("export", "--file", "jumin", "--out", str(tmp_path / "b.csv"), "--db", str(db), "--profile", str(bad))
    caught("a profile listing 個人番号 without allows_number", "allows_number" in one_line(p))
    act_as("clerk01")
    p = juki("export", "--file", "jumin", "--out", str(tmp_path / "k.csv"), "--db", str(db), "--profile", "kokuho")
    assert p.returncode == 0, p.stderr
    e = last_entry(log)
    caught("a number export is recorded with recipient and digest", e["number_accessed"] and e["params"]["recipient"]
           == "国民健康保険課" and "sha256" in e["detail"])


def test_zz_every_attack_was_caught():
    if not ATTACKS:
        pytest.skip("counts the attacks of this file: run it with them")
    tried = len(ATTACKS)
    caught_n = sum(ok for _, ok in ATTACKS)
    print(f"\nsecurity suite: {tried} attacks tried, {caught_n} caught")
    assert tried >= 30 and caught_n == tried
