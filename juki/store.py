"""The DuckDB store: opened through ibis, created from the layouts, rewritten atomically.

* :func:`connect` gives a notebook or command its store (honours ``--db`` / ``JUKI_DB``);
* :func:`create_schema` makes every table from the layouts (plus the workbench's own tables:
  除票 store, metadata, purge records, load log, quarantine);
* :func:`rewrite` is the only way a whole store is replaced (generation, purges): a new file is
  built beside the old one, checkpointed, fsynced and renamed over it, so a crash or a bad
  input never leaves a partial store that looks complete;
* :func:`configure` applies the machine's DuckDB settings (memory limit, spill folder) to every
  connection, so a large city spills to disk instead of running out of memory.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path

import duckdb

from . import atomic, paths
from .errors import JukiError
from .layouts import LAYOUTS
from .layouts.render import ddl

META_TABLE = "juki_meta"
#: The 除票 store: removed residents' records moved out of the live file (same layout).
JOSHU_TABLE = "jumin_joshu"
DATA_TABLES = ("jumin", "jumin_joshu", "honnin", "sofusaki")

WORKBENCH_DDL = {
    META_TABLE: "CREATE TABLE IF NOT EXISTS juki_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "purge_log": "CREATE TABLE IF NOT EXISTS purge_log (purged_at TIMESTAMP, as_of DATE, operator VARCHAR, record VARCHAR)",
    "load_log": """CREATE TABLE IF NOT EXISTS load_log (
        loaded_at TIMESTAMP, source_file VARCHAR, sha256 VARCHAR, encoding VARCHAR, target_table VARCHAR,
        profile VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, operator VARCHAR,
        as_of DATE, derived VARCHAR, warnings VARCHAR)""",
    "quarantine": """CREATE TABLE IF NOT EXISTS quarantine (
        loaded_at TIMESTAMP, source_file VARCHAR, line INTEGER, target_table VARCHAR, reason VARCHAR, raw VARCHAR)""",
}


# ---------------------------------------------------------------- machine settings

def memory_limit(job: str = "query", residents: int = 0) -> str:
    """DuckDB's memory limit: ``JUKI_DUCKDB_MEMORY`` (e.g. ``4GB``), else 40% of this machine's
    RAM for queries.  A writer of a new store (generation) gets less: DuckDB keeps the pages it
    writes in memory up to its limit and gains nothing from them; but the tables' primary-key
    indexes (ART) stay in memory while the store is written, a few hundred bytes per resident over
    the three files (measured: 111 MiB for the 2 M rows of a 1-million-resident 住民基本台帳ファイル),
    so a writer gets 1 GB plus 600 bytes a resident, at least 2 GB, at most the query limit.

    >>> import os; os.environ["JUKI_DUCKDB_MEMORY"] = "3GB"; memory_limit(), memory_limit("write")
    ('3GB', '3GB')
    >>> del os.environ["JUKI_DUCKDB_MEMORY"]; memory_limit("write") in ("1GB", "2GB")
    True
    >>> int(memory_limit("write", 8_900_000)[:-2]) >= 6 or memory_limit("write", 8_900_000) == memory_limit()
    True
    """
    env = os.environ.get("JUKI_DUCKDB_MEMORY")
    if env:
        return env
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover - exotic platforms
        return "2GB"
    gib = max(1, int(total * 0.4 / 2 ** 30))
    if job != "write":
        return f"{gib}GB"
    need = -(-(2 ** 30 + 600 * residents) // 2 ** 30)          # whole GiB, rounded up
    return f"{min(gib, max(2, need))}GB"


def spill_dir(path: Path) -> Path:
    """Where DuckDB spills beyond its memory limit: a private folder beside the store."""
    return path.resolve().parent / ".juki-spill"


def configure(con, path: Path | None = None, memory: str | None = None) -> None:
    """Apply the machine's settings to a DuckDB connection (or the one behind an ibis backend)."""
    duck = getattr(con, "con", con)
    duck.execute("SET enable_progress_bar = false")
    duck.execute(f"SET memory_limit = '{memory or memory_limit()}'")
    if path is not None:  # DuckDB creates the folder only when it spills (private under umask 077)
        duck.execute(f"SET temp_directory = '{spill_dir(path)}'")


# ---------------------------------------------------------------- opening

def db_path(db: str | os.PathLike | None = None) -> Path:
    return Path(db) if db else paths.default_db()


def connect(db: str | os.PathLike | None = None, read_only: bool = True):
    """An ibis DuckDB connection to the registry store (read-only unless asked), for the roles
    that may open it (analysts may not: they read the analysis store)."""
    import ibis

    from .access import guard
    path = db_path(db)
    guard.require("open_registry", path.name)
    if not path.exists():
        raise JukiError(f"no store at {path}: run 'juki generate' or 'juki load' first (or set --db / JUKI_DB)")
    warn_if_exposed(path)
    try:
        con = ibis.duckdb.connect(database=str(path), read_only=read_only)
    except duckdb.Error as e:
        raise JukiError(f"cannot open store {path}: {str(e).splitlines()[0]}") from None
    configure(con, path)
    return con


def open_duckdb(db, read_only: bool = True, memory: str | None = None) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB connection to the store, configured for this machine."""
    path = db_path(db)
    if read_only and not path.exists():
        raise JukiError(f"no store at {path}")
    if path.exists():
        warn_if_exposed(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as e:
        raise JukiError(f"cannot open store {path}: {str(e).splitlines()[0]}") from None
    configure(con, path, memory)
    return con


def _attach_src(con, path: Path) -> None:
    """The store at ``path`` attached read-only as ``src``."""
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")


@contextlib.contextmanager
def attached(db):
    """A DuckDB connection of its own (in memory, for temporary tables) with the store attached
    read-only as ``src``, configured for this machine; closed when the block ends."""
    path = db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}")
    warn_if_exposed(path)
    con = duckdb.connect()
    try:
        configure(con, path)
        _attach_src(con, path)
        yield con
    finally:
        con.close()


def tables(con, schema: str | None = None) -> set[str]:
    duck = getattr(con, "con", con)
    if schema:
        rows = duck.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [schema]).fetchall()
    else:
        rows = duck.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()
    return {r[0] for r in rows}


def meta(con, schema: str | None = None) -> dict:
    """The generation/load metadata stored with the registry (of the attached ``schema``; empty
    when there is none)."""
    duck = getattr(con, "con", con)
    if META_TABLE not in tables(duck, schema):
        return {}
    table = f"{schema}.{META_TABLE}" if schema else META_TABLE
    return {k: json.loads(v) for k, v in duck.execute(f"SELECT key, value FROM {table}").fetchall()}


def recorded_log_head(db=None) -> dict | None:
    """The operation log's head (seq, hash) the store recorded when it was last written: the
    witness :func:`juki.log.oplog.verify` checks the log against (None without a store)."""
    path = db_path(db)
    if not path.exists():
        return None
    try:
        con = open_duckdb(path)
    except (JukiError, duckdb.Error):
        return None
    try:
        return meta(con).get("oplog_head")
    finally:
        con.close()


def set_meta(con, values: dict) -> None:
    duck = getattr(con, "con", con)
    for k, v in values.items():
        duck.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)",
                     [k, json.dumps(v, ensure_ascii=False, default=str)])


def check_writable(path: Path) -> None:
    parent = path.resolve().parent
    if not parent.is_dir():
        raise JukiError(f"cannot write store {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise JukiError(f"cannot write store {path}: folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise JukiError(f"cannot write store {path}: the file is not writable")


def create_schema(con) -> None:
    """Every table of the store, from the layouts and the workbench's own DDL (idempotent)."""
    duck = getattr(con, "con", con)
    for layout in LAYOUTS.values():
        duck.execute(ddl(layout))
    duck.execute(ddl(LAYOUTS["jumin"], table=JOSHU_TABLE))
    for sql in WORKBENCH_DDL.values():
        duck.execute(sql)


def row_counts(con) -> dict[str, int]:
    duck = getattr(con, "con", con)
    have = tables(duck)
    return {name: int(duck.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) if name in have else 0
            for name in LAYOUTS}


# ---------------------------------------------------------------- rewriting

class Rewrite:
    """A new version of the store being built (see :func:`rewrite`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: bool):
        self.con = con
        self.source = source            # the old store is attached as ``src`` (read-only)
        self.abandoned = False

    def abandon(self) -> None:
        """Keep the old store as it is (nothing to change)."""
        self.abandoned = True


def _log_head():
    """The operation log's head, recorded with every store write (a witness outside the log).
    A store written before anything was logged starts the log, so even the first store records
    a head."""
    from .log import oplog
    try:
        h = oplog.head()
        if h is None:
            from .access.identity import os_account
            oplog.append("log_start", "oplog", operator="", os_user=os_account()[0], role="",
                         detail="the operation log starts with the first store")
            h = oplog.head()
        return h
    except (JukiError, OSError):
        return None


_WARNED: set = set()


def warn_if_exposed(path: Path) -> None:
    """Say once (per process) when a store is readable by group or others."""
    import stat
    import sys
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and str(path) not in _WARNED:
        _WARNED.add(str(path))
        print(f"juki: warning: store {path} is readable by group or others (mode {oct(mode & 0o777)}): "
              f"chmod 600 it", file=sys.stderr)


def remove_stale(path: Path) -> None:
    """Temporary files of rewrites (and generations' staging files) that were killed: hidden,
    never taken for the store."""
    for kind in ("new", "stage"):
        for p in path.parent.glob(f".{path.name}.{kind}-*"):
            atomic.remove(p, Path(str(p) + ".wal"))


@contextlib.contextmanager
def rewrite(path, attach_source: bool = True, memory: str | None = None, schema: bool = True):
    """Build a new store at ``path`` in a hidden file beside it, then swap it in atomically.

    Yields a :class:`Rewrite`: ``rw.con`` is a DuckDB connection to the new file (schema created)
    with the old store attached read-only as ``src`` when it exists and ``attach_source``.  On
    normal exit the new file is checkpointed, fsynced and renamed over ``path``; on an exception
    (or ``rw.abandon()``) it is removed and the old store is untouched.  Kill points for the crash
    tests: ``checkpointed`` (before the rename) and ``renamed``.
    """
    path = Path(path)
    check_writable(path)
    remove_stale(path)
    tmp = atomic.temp_beside(path, "new")
    atomic.remove(tmp, Path(str(tmp) + ".wal"))
    old = os.umask(0o077)
    try:
        con = duckdb.connect(str(tmp))
    finally:
        os.umask(old)
    try:
        configure(con, path, memory)
        source = attach_source and path.exists()
        if source:
            _attach_src(con, path)
        if schema:
            create_schema(con)
        else:
            con.execute(WORKBENCH_DDL[META_TABLE])
        rw = Rewrite(con, source)
        yield rw
        if rw.abandoned:
            con.close()
            atomic.remove(tmp, Path(str(tmp) + ".wal"))
            return
        if source:
            con.execute("DETACH src")
        set_meta(con, {"written_at": dt.datetime.now().isoformat(timespec="seconds"), "oplog_head": _log_head()})
        con.execute("CHECKPOINT")
        con.close()
        atomic.killpoint("checkpointed")
        os.chmod(tmp, atomic.FILE_MODE)
        atomic.fsync_file(tmp)
        atomic.remove(Path(str(path) + ".wal"))  # a stale WAL must never be replayed onto the new file
        os.replace(tmp, path)
        atomic.fsync_dir(path.parent)
        atomic.killpoint("renamed")
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        atomic.remove(tmp, Path(str(tmp) + ".wal"))
        raise


def copy_workbench_tables(con, exclude: tuple[str, ...] = ()) -> None:
    """Inside a rewrite: carry metadata, purge records, load log and quarantine over from ``src``."""
    have = tables(con, "src")
    for t in WORKBENCH_DDL:
        if t in have and t not in exclude:
            con.execute(f"INSERT OR REPLACE INTO {t} SELECT * FROM src.{t}" if t == META_TABLE
                        else f"INSERT INTO {t} SELECT * FROM src.{t}")


def to_parquet(db, folder, tables_: tuple[str, ...] = ("jumin", "honnin", "sofusaki")) -> list[Path]:
    """Each of ``tables_`` of the store at ``db`` as ``<folder>/<table>.parquet`` (another engine
    reads them); each file written whole, then renamed.  A TIME column is written as text
    (HH:MM:SS): Spark has no time-of-day type."""
    from . import atomic
    from .layouts import get
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    con = open_duckdb(db, read_only=True)
    out = []
    try:
        for t in tables_:
            with atomic.replacing(folder / f"{t}.parquet") as tmp:
                cols = ", ".join(f"CAST({i.column} AS VARCHAR) AS {i.column}" if i.type == "TIME" else i.column
                                 for i in get(t).all_columns)
                con.execute(f"COPY (SELECT {cols} FROM {t}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
            out.append(folder / f"{t}.parquet")
    finally:
        con.close()
    return out


def write_registry(tables_: dict, path, meta_: dict) -> Path:
    """Write Arrow tables keyed by table name into a new store at ``path``, atomically."""
    path = Path(path)
    with rewrite(path, attach_source=False) as rw:
        for name, table in tables_.items():
            rw.con.register("_src", table)
            rw.con.execute(f"INSERT INTO {name} SELECT * FROM _src")
            rw.con.unregister("_src")
        set_meta(rw.con, meta_)
    return path


@contextlib.contextmanager
def registry(engine: str | None = None, db=None, source=None):
    """The registry's files as an ibis backend on the chosen engine, for the ``with`` block.

    DuckDB: the store, opened read-only through :func:`connect` (the guard decides
    who may).  Spark: ``source`` when given (Parquet folder or ``db:<database>``), else the store
    written as Parquet into a private scratch folder beside it, removed afterwards."""
    import shutil
    import tempfile

    from .engine import choose, spark_backend
    name = choose(engine)
    if name == "duckdb":
        if source:
            raise JukiError("--source is for the spark engine; DuckDB reads the store (--db)")
        con = connect(db)
        try:
            yield con
        finally:
            con.disconnect()
        return
    if source:
        yield spark_backend(source)
        return
    from .access import guard
    path = db_path(db)
    guard.require("open_registry", path.name)
    if not path.exists():
        raise JukiError(f"no store at {path}: run 'juki generate' or 'juki load' first (or set --db / JUKI_DB)")
    scratch = Path(tempfile.mkdtemp(prefix=".spark-", dir=path.parent))   # mode 0700: it holds the registry
    try:
        to_parquet(path, scratch)
        yield spark_backend(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
