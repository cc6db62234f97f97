"""The DuckDB store, opened through ibis, created from the layouts.

One call gives a notebook its store: :func:`connect` honours ``--db`` / ``JUKI_DB``.
Writes are atomic: a new store is built in a temporary file beside the target, checkpointed,
and renamed over it, so a crash or a bad input never leaves a partial database that looks
complete.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path

import duckdb

from . import paths
from .errors import JukiError
from .layouts import LAYOUTS
from .layouts.render import ddl

META_TABLE = "juki_meta"

#: Views every store has: the current snapshot of each 宛名番号 (highest 履歴番号).
VIEWS = {
    "jumin_current": """
        SELECT * FROM jumin
        QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no)""",
}


def db_path(db: str | os.PathLike | None = None) -> Path:
    return Path(db) if db else paths.default_db()


def connect(db: str | os.PathLike | None = None, read_only: bool = True):
    """An ibis DuckDB connection to the store (read-only unless asked)."""
    import ibis
    path = db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}: run 'juki generate' first (or set --db / JUKI_DB)")
    try:
        return ibis.duckdb.connect(database=str(path), read_only=read_only)
    except duckdb.Error as e:  # pragma: no cover - depends on the file
        raise JukiError(f"cannot open store {path}: {str(e).splitlines()[0]}") from None


def meta(con) -> dict:
    """The generation/load metadata stored with the registry."""
    t = con.table(META_TABLE).to_pyarrow().to_pylist()
    return {r["key"]: json.loads(r["value"]) for r in t}


def check_writable(path: Path) -> None:
    parent = path.resolve().parent
    if not parent.is_dir():
        raise JukiError(f"cannot write store {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise JukiError(f"cannot write store {path}: folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise JukiError(f"cannot write store {path}: the file is not writable")


#: The 除票 store: removed residents' records moved out of the live file (same layout).
JOSHU_TABLE = "jumin_joshu"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for layout in LAYOUTS.values():
        con.execute(ddl(layout))
    con.execute(ddl(LAYOUTS["jumin"], table=JOSHU_TABLE))
    con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS purge_log (purged_at TIMESTAMP, as_of DATE, operator VARCHAR, record VARCHAR)")
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def write_registry(tables: dict, path: str | os.PathLike, meta_: dict) -> Path:
    """Write Arrow tables keyed by table name into a new store at ``path``, atomically."""
    path = Path(path)
    check_writable(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _remove(tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            create_schema(con)
            for name, table in tables.items():
                con.register("_src", table)
                con.execute(f"INSERT INTO {name} SELECT * FROM _src")
                con.unregister("_src")
            meta_ = {**meta_, "written_at": dt.datetime.now().isoformat(timespec="seconds")}
            con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False, default=str)) for k, v in meta_.items()])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _fsync(tmp)
        _remove(Path(str(path) + ".wal"))  # a stale WAL must never be replayed onto the new file
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        _remove(tmp)
        raise
    return path


def _remove(p: Path) -> None:
    for q in (p, Path(str(p) + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            q.unlink()


def _fsync(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def row_counts(con) -> dict[str, int]:
    return {name: int(con.table(name).count().to_pyarrow().as_py()) for name in LAYOUTS}
