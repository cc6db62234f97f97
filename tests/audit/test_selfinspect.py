"""自己点検: every item gathers evidence; planted breaches turn their item to 不適合.

The breaches are planted the way they would happen -- a 送付先情報 row left after its deadline,
a month in which nothing was logged, a report file carrying an individual number -- with the
test's own SQL and files, not through the code under test.
"""
from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
from openpyxl import load_workbook

from juki.audit import selfinspect
from juki.codes import kojin_bango
from juki.log import oplog

from ..conftest import AS_OF, ME

END = AS_OF + dt.timedelta(days=30)


@pytest.fixture
def city(tmp_path, small_db, log, monkeypatch):
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    reports = tmp_path / "reports"
    (reports / "2026-04-01").mkdir(parents=True)
    (reports / "2026-04-01" / "table.csv").write_text("町域,人口\n松戸,1234\n", encoding="utf-8")
    monkeypatch.setenv("JUKI_REPORTS", str(reports))
    # a log with an entry every week of the period, written through the library as time passed
    day = END - dt.timedelta(days=365)
    while day <= END:
        oplog.append("run", "05_access_audit", operator="tester", role="administrator",
                     at=dt.datetime.combine(day, dt.time(10)))
        day += dt.timedelta(days=7)
    con = duckdb.connect(str(db))
    from juki import store
    store.set_meta(con, {"oplog_head": oplog.head()})                  # the store was last written with this log
    con.execute("DELETE FROM sofusaki WHERE sent_date IS NOT NULL")     # the daily purge has run
    con.execute(f"INSERT INTO purge_log VALUES (TIMESTAMP '{AS_OF} 09:00', DATE '{AS_OF}', 'tester', "
                "'{\"rules\": [{\"rule\": \"sofusaki_sent\", \"due\": 3}]}')")
    con.close()
    return db, reports


def item(si, area, check_word=""):
    return next(i for i in si.items if i.area == area and check_word in i.check)


def inspect(db, reports):
    return selfinspect.inspect(db=db, start=END - dt.timedelta(days=365), end=END, reports=reports)


def test_every_item_has_evidence_and_the_clean_city_passes_the_planted_items(city):
    db, reports = city
    si = inspect(db, reports)
    assert len(si.items) == len(selfinspect.CHECKS) >= 10
    assert all(i.evidence and i.status in (selfinspect.OK, selfinspect.BREACH, selfinspect.LOOK) for i in si.items)
    for area in ("送付先情報の消去", "操作ログの記録", "統計分析"):
        assert item(si, area).status == selfinspect.OK, item(si, area)
    assert item(si, "操作ログの記録", "連鎖").status == selfinspect.OK
    # the scheduler's access-audit runs prepare the material; nobody has signed a review yet
    assert item(si, "操作ログの点検").status == selfinspect.LOOK
    assert item(si, "アクセス権限の管理", "確認").status == selfinspect.LOOK


def test_reviews_pass_only_when_a_person_signs_them_for_the_period(city):
    from juki.audit import signoff
    db, reports = city
    for days_before in (102, 2):
        oplog.append("run", "05_access_audit", operator="sched", role="scheduler", outcome="ok",
                     detail=" -> /r/05_access_audit.html sha256 " + "ab" * 32,
                     at=dt.datetime.combine(END - dt.timedelta(days=days_before), dt.time(6)))
    with pytest.raises(Exception, match="signed-by"):
        signoff.sign("log", "", "点検した", end=END)
    signoff.sign("access-rights", "松戸 花子", "不要なIDなし", end=END - dt.timedelta(days=100))
    si = inspect(db, reports)
    assert item(si, "アクセス権限の管理", "確認").status == selfinspect.LOOK     # older than a quarter
    assert item(si, "操作ログの点検").status == selfinspect.LOOK                 # no log review
    signoff.sign("access-rights", "松戸 花子", "退職者1名のIDを削除", end=END)
    signoff.sign("log", "松戸 花子", "記録事項に問題なし", end=END)
    si = inspect(db, reports)
    it = item(si, "アクセス権限の管理", "確認")
    assert it.status == selfinspect.OK and "松戸 花子" in it.evidence, it
    it = item(si, "操作ログの点検")
    assert it.status == selfinspect.OK and "abababab" in it.evidence, it


def test_a_log_that_does_not_reach_back_to_the_period_start_is_a_breach(city, log):
    """A log that begins at the installation covers what there is (shown as such); one whose
    older part is gone does not reach the period's start."""
    db, reports = city
    long_ago = END - dt.timedelta(days=800)
    it = item(selfinspect.inspect(db=db, start=long_ago, end=END, reports=reports), "操作ログの記録", "1年以上")
    assert it.status == selfinspect.OK and "設置" in it.evidence, it
    oplog.prune(END - dt.timedelta(days=200))
    it = item(selfinspect.inspect(db=db, start=END - dt.timedelta(days=365), end=END, reports=reports),
              "操作ログの記録", "1年以上")
    assert it.status == selfinspect.BREACH and "遡らない" in it.evidence, it


def test_an_overdue_sofusaki_row_is_a_breach(city, small_db):
    db, reports = city
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{small_db}' AS src (READ_ONLY)")
    # a row sent ten days ago that the daily purge missed (the city's own rows may all be gone)
    n = con.execute(f"INSERT INTO sofusaki SELECT * REPLACE (DATE '{AS_OF - dt.timedelta(days=10)}' AS sent_date) "
                    "FROM src.sofusaki LIMIT 1").fetchone()[0]
    con.close()
    assert n == 1
    it = item(inspect(db, reports), "送付先情報の消去")
    assert it.status == selfinspect.BREACH and "1件" in it.evidence and "juki purge --only sofusaki_sent" in it.evidence
    # judged on the date the store describes (its rows hold nothing after it), not the period's end:
    # sent Sun 22 March, due Mon 23 March; 24-27, 30, 31 March and 1 April are 7 business days late
    assert f"{AS_OF}時点" in it.evidence and "最大 7開庁日超過" in it.evidence, it.evidence


def test_a_silent_month_in_the_log_is_a_breach(city, log):
    db, reports = city
    # rebuild the log with no entry for 50 days in the middle of the period
    for p in log.parent.iterdir():
        p.unlink() if p.is_file() else shutil.rmtree(p)
    day = END - dt.timedelta(days=365)
    while day <= END:
        if not (END - dt.timedelta(days=200) < day < END - dt.timedelta(days=150)):
            oplog.append("run", "05_access_audit", operator="tester", role="administrator",
                         at=dt.datetime.combine(day, dt.time(10)))
        day += dt.timedelta(days=7)
    assert oplog.verify()[0]
    it = item(inspect(db, reports), "操作ログの記録", "空白")
    assert it.status == selfinspect.BREACH and "記録のない期間" in it.evidence


def test_a_report_holding_a_valid_individual_number_is_a_breach(city):
    db, reports = city
    number = next(n for n in (f"12345678901{d}" for d in range(10)) if kojin_bango.is_valid(n))
    invalid = number[:-1] + str((int(number[-1]) + 1) % 10)
    (reports / "2026-04-01" / "ok.csv").write_text(f"番号でない数字,{invalid}\n", encoding="utf-8")
    assert item(inspect(db, reports), "統計分析", "個人番号").status == selfinspect.OK
    (reports / "2026-04-01" / "leak.html").write_text(f"<td>{number}</td>", encoding="utf-8")
    si = inspect(db, reports)
    it = item(si, "統計分析", "個人番号")
    assert it.status == selfinspect.BREACH and "leak.html" in it.evidence
    assert number not in str(si.to_dict())           # the evidence names the file, never the number


def test_use_by_a_disabled_operator_after_disabling_is_a_breach(city, tmp_path, monkeypatch):
    db, reports = city
    ops = tmp_path / "ops.toml"
    ops.write_text(f'[[operator]]\nid = "tester"\nos_user = "{ME}"\nroles = ["administrator"]\n\n'
                   '[[operator]]\nid = "retired01"\nos_user = "y"\nroles = ["reviewer"]\nenabled = false\n'
                   f'disabled_on = {AS_OF}\n', encoding="utf-8")
    ops.chmod(0o600)
    monkeypatch.setenv("JUKI_OPERATORS", str(ops))
    assert item(inspect(db, reports), "アクセス権限の管理", "無効").status == selfinspect.OK
    oplog.append("search", "jumin", operator="retired01", role="reviewer", params={"facts": ["name", "address"]},
                 at=dt.datetime.combine(AS_OF + dt.timedelta(days=3), dt.time(11)))
    it = item(inspect(db, reports), "アクセス権限の管理", "無効")
    assert it.status == selfinspect.BREACH and "retired01" in it.evidence


def test_the_workbook_has_the_items_and_a_sign_off_block(city, tmp_path):
    db, reports = city
    si = inspect(db, reports)
    si.write(tmp_path)
    again = selfinspect.SelfInspection.load(tmp_path)
    assert [i.status for i in again.items] == [i.status for i in si.items]
    ws = load_workbook(tmp_path / selfinspect.XLSX).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[4][:6] == ["番号", "区分", "評価書の記載", "点検の内容", "結果", "根拠（自動収集）"]
    assert [r[4] for r in values[5:5 + len(si.items)]] == [i.status for i in si.items]
    labels = {r[1] for r in values if r[1]}
    assert {"確認者（職・氏名）", "確認日"} <= labels


def test_an_export_to_a_recipient_outside_the_register_is_a_breach(city):
    """An export logged without a register entry (as juki wrote them before the register, or a
    free-text recipient) fails the item; one under an entry in force passes."""
    db, reports = city
    day = dt.datetime.combine(AS_OF + dt.timedelta(days=2), dt.time(10))
    oplog.append("export", "jumin", operator="tester", role="administrator", at=day, detail="x.csv sha256 00",
                 params={"recipient": "国民健康保険課", "purpose": "資格管理", "items": ["氏名"], "register": "kokuho"})
    it = item(inspect(db, reports), "提供・移転")
    assert it.status == selfinspect.OK and "国民健康保険課（移転" in it.evidence, it
    oplog.append("export", "jumin", operator="tester", role="administrator", at=day, detail="y.csv sha256 00",
                 params={"recipient": "任意の宛先（法令根拠なし）", "purpose": "-", "items": ["氏名"]})
    it = item(inspect(db, reports), "提供・移転")
    assert it.status == selfinspect.BREACH and "台帳にない" in it.evidence and "1件" in it.evidence, it


def test_a_review_without_its_signature_is_refused_in_one_line(city, capsys):
    from juki.cli import main
    assert main(["audit", "review", "--kind", "log", "--note", "ok"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--signed-by" in err[0]


def _plant_removal(db, shori: str) -> None:
    """A resident removed (消除) and processed on ``shori``, written with the test's own SQL."""
    con = duckdb.connect(str(db))
    a = con.execute("""SELECT atena_no FROM jumin GROUP BY atena_no HAVING count(*) = 1
                       AND bool_and(ido_kubun <> '2') ORDER BY atena_no LIMIT 1""").fetchone()[0]
    con.execute(f"""INSERT INTO jumin SELECT * REPLACE (rireki_no + 1 AS rireki_no, '2' AS ido_kubun,
                   (SELECT min(ido_jiyu) FROM jumin WHERE ido_kubun = '2') AS ido_jiyu,
                   DATE '{shori}' AS shojo_date, DATE '{shori}' AS ido_date, DATE '{shori}' AS shori_date)
                   FROM jumin WHERE atena_no = ?""", [a])
    con.close()


def _in_period(days=5):
    return dt.datetime.combine(END - dt.timedelta(days=days), dt.time(10))


PLANTS = {
    # check function: (what is planted or left missing, the statuses it must give)
    "log_kept": (lambda db: oplog.prune(END - dt.timedelta(days=200)), {selfinspect.BREACH}),
    "log_chain": (lambda db: oplog.append("search", "jumin", operator="tester", role="reviewer", records=3,
                                          params={"facts": ["name", "address"]}, at=_in_period()),
                  {selfinspect.BREACH}),
    "log_reviewed": (lambda db: None, {selfinspect.LOOK}),
    "access_rights_review": (lambda db: None, {selfinspect.LOOK}),
    "two_of_four": (lambda db: oplog.append("search", "jumin", operator="tester", role="reviewer", records=0,
                                            params={"facts": ["name", "sex"]}, at=_in_period()),
                    {selfinspect.BREACH}),
    "exports_recorded": (lambda db: oplog.append("export", "jumin", operator="tester", role="administrator",
                                                 detail="z.csv sha256 00", at=_in_period(),
                                                 params={"recipient": "任意", "purpose": "-", "items": ["氏名"]}),
                         {selfinspect.BREACH}),
    "reconciled": (lambda db: None, {selfinspect.BREACH}),
    "joshu_on_schedule": (lambda db: _plant_removal(db, "2015-06-01"), {selfinspect.BREACH}),
    "purge_records": (lambda db: duckdb.connect(str(db)).execute("DELETE FROM purge_log").close(), {selfinspect.LOOK}),
    "analysis_store_clean": (lambda db: None, {selfinspect.LOOK}),
}


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_every_item_can_fail(city, name):
    """For each item: its breach planted, or its evidence left missing, and the item says so."""
    db, reports = city
    plant, want = PLANTS[name]
    plant(db)
    check = next(ch for ch in selfinspect.CHECKS if ch.gather.__name__ == name)
    it = next(i for i in inspect(db, reports).items if i.check == check.check)
    assert it.status in want, (name, it)


def test_no_item_is_left_without_a_failing_test():
    """Every check has a planted failure here or a test of its own above."""
    own = {"disabled_operators", "sofusaki_erased", "no_number_in_outputs", "role_changes"}
    assert {ch.gather.__name__ for ch in selfinspect.CHECKS} <= set(PLANTS) | own


def test_searches_that_all_name_two_facts_pass(city):
    db, reports = city
    oplog.append("search", "jumin", operator="tester", role="reviewer", records=1, persons=["1000000019"],
                 params={"facts": ["name", "birth"]}, at=_in_period())
    it = item(inspect(db, reports), "検索条件")
    assert it.status == selfinspect.OK, it
    it = item(inspect(db, reports), "操作ログの記録", "連鎖")
    assert it.status == selfinspect.OK and "すべて対象者を記録" in it.evidence, it


def test_role_changes_are_logged_and_unapproved_ones_asked_about(city, tmp_path, monkeypatch):
    """A grant made in the operators file without approval: logged as a role change, and the
    item asks a person; the same grant with 承認者 and 承認日 passes."""
    from juki.access import grants
    db, reports = city
    ops = tmp_path / "ops.toml"

    def write(roles, approval=""):
        ops.write_text(f'[[operator]]\nid = "tester"\nos_user = "{ME}"\nroles = ["administrator"]\n\n'
                       f'[[operator]]\nid = "new01"\nos_user = "y"\nroles = {roles}\n{approval}', encoding="utf-8")
        ops.chmod(0o600)
    monkeypatch.setenv("JUKI_OPERATORS", str(ops))
    monkeypatch.setenv("JUKI_DATA", str(tmp_path))
    write('["analyst"]')
    grants.record()                                  # the first record
    write('["analyst", "number_clerk"]')
    [e] = grants.record()
    assert e["action"] == "role_change" and e["params"]["added"] == ["number_clerk"] and not e["params"]["approved_by"]
    it = item(selfinspect.inspect(db=db, start=END - dt.timedelta(days=365), end=dt.date.today(), reports=reports),
              "アクセス権限の管理", "承認者")
    assert it.status == selfinspect.LOOK and "new01" in it.evidence, it
    write('["analyst"]', 'approved_by = "市民課長"\napproved_on = 2026-11-30\n')
    [e] = grants.record()
    assert e["params"]["removed"] == ["number_clerk"] and e["params"]["approved_by"] == "市民課長"


def test_the_remaining_items_pass_on_their_evidence(city):
    """適合 when the evidence is there: no unapproved role change, 除票 and purges on schedule,
    the three copies reconciled with nothing open, and a published analysis store without
    identifier columns."""
    from juki.analysis.publish import publish
    from juki.paths import analysis_db
    from juki.reconcile import reconcile
    from juki.retention import apply
    db, reports = city
    first = reconcile([], "kizon", as_of=AS_OF, db=db)      # the generator's planted differences ...
    con = duckdb.connect(str(db))
    for code in first.differences["住民票コード"]:           # ... mended in the 本人確認情報
        con.execute("DELETE FROM honnin WHERE jumin_code = ?", [code])
    con.close()
    res = reconcile([], "kizon", as_of=AS_OF + dt.timedelta(days=1), db=db)
    assert len(res.differences) == 0 and res.followup.totals()["resolved"] == len(first.differences)
    apply(db, AS_OF, operator="tester")                     # the monthly purge has run
    publish(db=db, as_of=AS_OF, out=analysis_db(db))
    si = selfinspect.inspect(db=db, start=END - dt.timedelta(days=365), end=dt.date.today(), reports=reports)
    by = {i.check: i for i in si.items}
    for name in ("role_changes", "joshu_on_schedule", "purge_records", "reconciled", "analysis_store_clean"):
        check = next(ch for ch in selfinspect.CHECKS if ch.gather.__name__ == name)
        it = by[check.check]
        assert it.status == selfinspect.OK, (name, it, res.line())
