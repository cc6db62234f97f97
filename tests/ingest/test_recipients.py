"""The register of lawful recipients (提供先・移転先台帳): an export the register does not cover
is refused with one line and a log entry, written as the register's keeper would write it."""
from __future__ import annotations

import json

import pytest

from juki.access.roles import Refused
from juki.log import oplog

REGISTER = '''
[[recipient]]
id = "kokuho"
name = "国民健康保険課"
kind = "移転"
basis = "番号法第9条第1項・別表第一 第30項"
purpose = "国民健康保険の資格管理"
files = ["jumin"]
individual_number = true
valid_from = 2016-01-01
valid_to = {valid_to}

[recipient.items]
jumin = ["atena_no", "shimei", "kojin_bango"]
'''


@pytest.fixture
def register(tmp_path, monkeypatch):
    from juki.ingest import recipients
    p = tmp_path / "recipients.toml"
    monkeypatch.setattr(recipients, "path", lambda: p)

    def write(valid_to="2099-03-31"):
        p.write_text(REGISTER.format(valid_to=valid_to), encoding="utf-8")
    write()
    return write


def profile(tmp_path, register_id, items=("atena_no", "shimei")):
    p = tmp_path / f"p_{register_id}.toml"
    p.write_text(f'name = "p"\nregister = "{register_id}"\nrecipient = "r"\npurpose = "x"\nallows_number = true\n'
                 f'[items]\njumin = {json.dumps(list(items))}\n', encoding="utf-8")
    return str(p)


def last_refusal():
    return [e for e in oplog.entries() if e.get("action") == "export"][-1]


def refused(tmp_path, small_db, prof, word):
    from juki.ingest import export
    with pytest.raises(Refused) as e:
        export("jumin", tmp_path / "out.csv", db=small_db, profile=prof)
    msg = str(e.value)
    assert "\n" not in msg and word in msg, msg
    last = last_refusal()
    assert last["outcome"] == "refused" and word in last["detail"]
    assert not (tmp_path / "out.csv").exists()


def test_an_unregistered_recipient_is_refused(tmp_path, small_db, register):
    refused(tmp_path, small_db, profile(tmp_path, "somewhere"), "not in the register")


def test_a_profile_without_a_register_entry_is_refused(tmp_path, small_db, register):
    p = tmp_path / "free.toml"
    p.write_text('name = "free"\nrecipient = "任意の宛先（法令根拠なし）"\npurpose = "-"\n[items]\njumin = ["shimei"]\n',
                 encoding="utf-8")
    refused(tmp_path, small_db, str(p), "names no recipient of the register")


def test_an_entry_out_of_force_is_refused(tmp_path, small_db, register):
    register(valid_to="2020-03-31")
    refused(tmp_path, small_db, profile(tmp_path, "kokuho"), "not in force")


def test_items_beyond_the_entry_are_refused(tmp_path, small_db, register):
    refused(tmp_path, small_db, profile(tmp_path, "kokuho", ("atena_no", "genjusho")), "does not list 現住所")


def test_a_registered_export_goes_out_with_its_basis_logged(tmp_path, small_db, register):
    from juki.ingest import export
    res = export("jumin", tmp_path / "ok.csv", db=small_db, profile=profile(tmp_path, "kokuho"))
    assert res.rows > 0 and (tmp_path / "ok.csv").exists()
    e = [e for e in oplog.entries() if e.get("action") == "export"][-1]
    assert e["outcome"] == "ok" and e["params"]["register"] == "kokuho" and e["params"]["kind"] == "移転"
    assert "番号法" in e["params"]["basis"]


def test_the_shipped_register_reads_and_covers_the_shipped_profiles():
    from juki.ingest import recipients
    from juki.ingest.export import load_profile
    reg = recipients.load(recipients.paths.root() / "data" / "recipients.toml")
    assert {"jumin_jimu", "kokuho", "senkyo", "migration"} <= set(reg)
    for name in ("kokuho", "senkyo", "migration"):
        prof = load_profile(name)
        entry = reg[prof.register]
        for table, cols in prof.items.items():
            assert entry.refusal(table, cols, prof.allows_number, prof.allows_secret) is None, name


CONTRACTOR = '''
[[recipient]]
id = "hoshu"
name = "保守委託先"
kind = "事務内利用"
basis = "委託契約書"
purpose = "障害調査"
files = ["jumin"]
contractor = true
erase_within_days = 14
valid_from = 2024-04-01
'''


def test_a_file_handed_to_a_contractor_must_be_erased_and_that_confirmed(tmp_path, small_db, monkeypatch):
    import datetime as dt

    from juki.audit import signoff
    from juki.audit.access_audit import AccessAudit
    from juki.errors import JukiError
    from juki.ingest import export, recipients
    p = tmp_path / "recipients.toml"
    p.write_text(CONTRACTOR, encoding="utf-8")
    monkeypatch.setattr(recipients, "path", lambda: p)
    res = export("jumin", tmp_path / "h.csv", db=small_db, profile=profile(tmp_path, "hoshu", ("atena_no", "seibetsu")))
    e = [e for e in oplog.entries() if e.get("action") == "export"][-1]
    due = dt.date.fromisoformat(e["params"]["erase_by"])
    assert due == dt.date.today() + dt.timedelta(days=14)
    mine = lambda df: df[df["SHA-256"] == res.sha256[:16] + "…"]          # noqa: E731
    assert list(mine(AccessAudit.build(end=due).erasures())["状況"]) == ["期限内"]
    late = AccessAudit.build(end=due + dt.timedelta(days=1))
    assert list(mine(late.erasures())["状況"]) == ["期限超過"] and late.findings()["erasure_overdue"] >= 1
    with pytest.raises(JukiError, match="--by"):
        signoff.confirm_erased(res.sha256, "")
    with pytest.raises(JukiError, match="no export"):
        signoff.confirm_erased("0" * 64, "保守 太郎")
    signoff.confirm_erased(res.sha256, "株式会社保守 保守太郎")
    assert list(mine(AccessAudit.build(end=due + dt.timedelta(days=1)).erasures())["状況"]) == ["消去確認済"]
