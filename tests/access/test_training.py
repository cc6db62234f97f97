"""Training, confidentiality pledges and contracts in the operator records: an operator whose
training has lapsed, or contractor staff without a pledge or with an ended contract, is refused
with one line and a log entry (PIA: 研修を年1回; 委託先は機密保持誓約書の提出後に限る)."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest

from juki.log import oplog

from ..conftest import ME

TODAY = dt.date.today()


@pytest.fixture
def city(tmp_path, small_db):
    db = tmp_path / "juki.duckdb"
    shutil.copy(small_db, db)
    return db


def operators(tmp_path, monkeypatch, **fields) -> None:
    lines = ["[settings]", "training_valid_days = 365", "", "[[operator]]", 'id = "admin01"', 'name = "管理者A"',
             f'os_user = "{ME}"', 'roles = ["administrator"]']
    for k, v in fields.items():
        lines.append(f"{k} = {v.isoformat() if isinstance(v, dt.date) else repr(v).replace(chr(39), chr(34))}"
                     if not isinstance(v, bool) else f"{k} = {'true' if v else 'false'}")
    p = tmp_path / "operators.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p.chmod(0o600)
    monkeypatch.setenv("JUKI_OPERATORS", str(p))


def refused_with(db, capsys, word):
    from juki.cli import main
    assert main(["reconcile", "--side", "kizon", "--db", str(db)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0], err
    e = oplog.entries()[-1]
    assert e["outcome"] == "refused" and word in e["detail"], e


def allowed(db, capsys):
    from juki.cli import main
    assert main(["reconcile", "--side", "kizon", "--db", str(db)]) == 0, capsys.readouterr().err
    capsys.readouterr()


@pytest.mark.parametrize("fields, word", [
    ({}, "no training on record"),
    ({"trained_on": TODAY - dt.timedelta(days=400)}, "older than 365 days"),
    ({"trained_on": TODAY, "contractor": "株式会社保守", "contract": "R8-住記保守",
      "contract_until": TODAY + dt.timedelta(days=100)}, "機密保持誓約書"),
    ({"trained_on": TODAY, "contractor": "株式会社保守", "contract": "R8-住記保守", "pledge_on": TODAY,
      "contract_until": TODAY - dt.timedelta(days=1)}, "ended on"),
    ({"trained_on": TODAY, "contractor": "再委託株式会社", "contract": "R8-住記保守", "pledge_on": TODAY,
      "contract_until": TODAY + dt.timedelta(days=100), "subcontractor": True}, "再委託"),
])
def test_a_lapsed_operator_is_refused(tmp_path, monkeypatch, city, capsys, fields, word):
    operators(tmp_path, monkeypatch, **fields)
    refused_with(city, capsys, word)


def test_trained_staff_and_a_contractor_in_order_may_act(tmp_path, monkeypatch, city, capsys):
    operators(tmp_path, monkeypatch, trained_on=TODAY - dt.timedelta(days=30))
    allowed(city, capsys)
    operators(tmp_path, monkeypatch, trained_on=TODAY, contractor="株式会社保守", contract="R8-住記保守",
              pledge_on=TODAY - dt.timedelta(days=10), contract_until=TODAY + dt.timedelta(days=100))
    allowed(city, capsys)
