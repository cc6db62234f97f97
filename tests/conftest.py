"""Shared fixtures: one small generated city per test session, and who the tests run as.

The operator is the OS account (never a flag or a variable): the tests map the account running
them to the operator they need in an operators file of their own, as an administrator would
(:func:`act_as`).  The session's default maps it to ``tester``, who holds every role.
"""
from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.pop("JUKI_OPERATOR", None)
AS_OF = dt.date(2026, 4, 1)
SMALL = 3000

# tests never write the real data folder: a private one per test session
_DATA = Path(tempfile.mkdtemp(prefix="juki-test-data-"))
atexit.register(shutil.rmtree, _DATA, True)        # with its keys and log, when the session ends
os.environ["JUKI_DATA"] = str(_DATA)
os.environ["JUKI_OPLOG"] = str(_DATA / "oplog.jsonl")
os.environ["JUKI_OPERATORS"] = str(_DATA / "operators.toml")
os.environ["JUKI_REPORTS"] = str(_DATA / "reports")

from juki.access.identity import os_account  # noqa: E402

ME = os_account()[0]

#: The operators of the tests (the account running them is mapped to one of them at a time).
OPERATORS = {
    "tester": ("試験担当", ["administrator", "reviewer", "analyst", "number_clerk", "scheduler"], True),
    "admin01": ("管理者A", ["administrator"], True),
    "scheduler": ("定期処理", ["scheduler"], True),
    "analyst01": ("分析担当A", ["analyst"], True),
    "reviewer01": ("品質確認担当A", ["reviewer"], True),
    "clerk01": ("番号利用事務担当A", ["number_clerk", "reviewer"], True),
    "retired01": ("退職者", ["reviewer"], False),
}


def write_operators(path: Path, me_as: str | None) -> Path:
    lines = ["[settings]", "search_broad_limit = 20", ""]
    for oid, (name, roles, enabled) in OPERATORS.items():
        account = ME if oid == me_as else f"juki-test-{oid}"
        lines += ["[[operator]]", f'id = "{oid}"', f'name = "{name}"', f'os_user = "{account}"',
                  f"roles = {roles!r}".replace("'", '"'), f"enabled = {'true' if enabled else 'false'}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)
    return path


write_operators(_DATA / "operators.toml", "tester")
# a fixed secret for the cell-key method's record keys, so perturbed values are reproducible
import hashlib  # noqa: E402

(_DATA / "ckm.key").write_bytes(hashlib.sha256(b"juki test suite ckm key").digest())
(_DATA / "ckm.key").chmod(0o600)


@pytest.fixture
def act_as(tmp_path, monkeypatch):
    """``act_as("analyst01")``: from now on this test's OS account is that operator (or None:
    an account no operator is mapped to)."""
    def _as(operator_id: str | None) -> str:
        p = write_operators(tmp_path / f"operators-{operator_id}.toml", operator_id)
        monkeypatch.setenv("JUKI_OPERATORS", str(p))
        return operator_id
    return _as


@pytest.fixture
def log(tmp_path, monkeypatch):
    """A fresh operation log for one test."""
    p = tmp_path / "oplog" / "oplog.jsonl"
    p.parent.mkdir(mode=0o700)
    monkeypatch.setenv("JUKI_OPLOG", str(p))
    return p


@pytest.fixture(scope="session")
def small_tables():
    from juki.synth import Params, generate
    return generate(Params(residents=SMALL, seed=11, as_of=AS_OF, sofusaki_days=180))


@pytest.fixture(scope="session")
def small_db(tmp_path_factory, small_tables):
    from juki import store
    path = tmp_path_factory.mktemp("city") / "juki.duckdb"
    store.write_registry(small_tables, path, {"source": "synthetic", "residents": SMALL, "seed": 11,
                                              "as_of": AS_OF.isoformat()})
    return path


@pytest.fixture(scope="session")
def duck(small_db):
    import duckdb
    con = duckdb.connect(str(small_db), read_only=True)
    yield con
    con.close()
