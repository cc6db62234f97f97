"""The register of lawful recipients (提供先・移転先台帳): an export the register does not cover
is refused with one line and a log entry, written as the register's keeper would write it."""
from __future__ import annotations

import json

import pytest

from juki.audit import oplog
from juki.audit.roles import Refused

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
