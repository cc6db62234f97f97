"""Shared fixtures: one small generated city per test session (a few thousand residents)."""
from __future__ import annotations

import datetime as dt
import os
import tempfile

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# tests never write the real operation log
_LOG_DIR = tempfile.mkdtemp(prefix="juki-oplog-")
os.environ["JUKI_OPLOG"] = os.path.join(_LOG_DIR, "oplog.jsonl")
os.environ.pop("JUKI_OPERATOR", None)

AS_OF = dt.date(2026, 4, 1)
SMALL = 3000


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
