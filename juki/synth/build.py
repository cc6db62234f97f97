"""Generate a city block by block into a store, in memory bounded by the chunk.

Each block (a fixed number of households) has its own random stream ``(seed, block)``, so the
city is the same whatever the chunk size: a chunk only says how many blocks are buffered
before they are written.  The city-wide parts -- the 更新順番号 sequence of the 本人確認情報
and the 送付先情報 batches -- are finished in DuckDB once every block is in.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .. import atomic, businessdays, store
from ..codes import municipality
from ..layouts import LAYOUTS, Layout
from . import cs_files, events, identities, jumin, people
from .clock import NA, Calendar, day
from .params import Params

#: Living households per block (the unit of randomness; a chunk is a number of blocks).
BLOCK_HOUSEHOLDS = 4096
#: The geography is Matsudo's for every preset (towns, branches, postcodes); presets set the
#: size, the foreign share and the rates.
CITY_NAME = "松戸市"
CITY_ADDRESS = "千葉県松戸市"


def window(p: Params) -> people.Window:
    W = day(dt.date(p.as_of.year - p.years, 1, 1))
    M0 = day(businessdays.on_or_after(dt.date(p.as_of.year - p.years, 1, 4)))
    return people.Window(A=day(p.as_of), W=W, M0=M0)


def to_arrow(layout: Layout, cols: dict, n: int) -> pa.Table:
    """Arrays keyed by column -> an Arrow table typed by the layout (missing columns are empty).

    Dates come as day numbers, times as seconds, timestamps as microseconds; ``clock.NA``
    marks a missing date.
    """
    arrays = []
    for item in layout.all_columns:
        v = cols.get(item.column)
        if v is None or np.ndim(v) == 0:
            v = np.full(n, v, dtype=object)
        v = np.asarray(v)
        if item.type in ("DATE", "TIMESTAMP", "TIME"):
            v = v.astype(np.int64)
            mask = v == NA
            if item.type == "DATE":
                a = pa.array(np.where(mask, 0, v).astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())
            elif item.type == "TIME":
                a = pa.array(np.where(mask, 0, v) * 1_000_000, type=pa.int64(), mask=mask).cast(pa.time64("us"))
            else:
                a = pa.array(np.where(mask, 0, v), type=pa.int64(), mask=mask).cast(pa.timestamp("us"))
        elif item.type in ("INTEGER", "BIGINT"):
            t = pa.int32() if item.type == "INTEGER" else pa.int64()
            a = pa.array([None if x is None else int(x) for x in v], type=t) if v.dtype == object else pa.array(v, type=t)
        else:
            a = pa.array(v, type=pa.string(), from_pandas=True)
        arrays.append(a)
    return pa.Table.from_arrays(arrays, names=layout.columns)


@dataclass
class Block:
    index: int
    living: int
    in_living_households: int   # persons of the block's living households (what ``trim`` cuts)
    jumin: pa.Table
    honnin: pa.Table
    sofusaki: pa.Table


def make_block(p: Params, w: people.Window, cal: Calendar, b: int, trim: int) -> Block:
    rng = np.random.default_rng([p.seed, b])
    city = municipality.MATSUDO
    pp = people.build(rng, p, w, BLOCK_HOUSEHOLDS, trim=trim)
    ev = events.build(rng, pp, w, cal)
    E = ev.frame
    ids = identities.build(rng, pp, w, b, p.seed, E.loc[E["jiyu"] == "35", "pid"].to_numpy(),
                           E.loc[E["jiyu"] == "38", "pid"].to_numpy())
    pl = jumin.places(rng, len(pp.kind), CITY_ADDRESS, city)
    J, X = jumin.build(rng, pp, ev, ids, pl, w, cal, city, jumin.pin_pepper(p.seed))
    n = len(X)
    H = cs_files.honnin(J, X, w.A, city)
    S = cs_files.sofusaki(J, X, w.A, p.sofusaki_days, cal, city, CITY_NAME)
    living = int((pp.exit_of == NA).sum())
    in_living = int((pp.kind[pp.persons["hh"].to_numpy()] == "living").sum())
    return Block(b, living, in_living, to_arrow(LAYOUTS["jumin"], J, n), to_arrow(LAYOUTS["honnin"], H, n),
                 to_arrow(LAYOUTS["sofusaki"], S, len(S["jumin_code"])))


def blocks(p: Params, workers: int = 1):
    """The blocks of the city in order, until exactly ``p.residents`` living residents.

    With ``workers`` > 1 the blocks are made in child processes, a few ahead of the writer; a
    block depends only on ``(seed, block)``, so the city is the same.  A block is cut (made
    again, here, with ``trim``) only where the count of residents runs out."""
    w = window(p)
    cal = Calendar(w.W, w.A)
    remaining = p.residents
    source = _sequential(p, w, cal) if workers <= 1 else _parallel(p, workers)
    with contextlib.closing(source):       # closing the source stops its worker processes
        for blk in source:
            if blk.in_living_households > remaining:       # the cut falls in this block
                blk = make_block(p, w, cal, blk.index, trim=remaining)
            remaining -= blk.living
            yield blk
            if remaining <= 0:
                return


def _sequential(p: Params, w, cal):
    b = 0
    while True:
        yield make_block(p, w, cal, b, trim=None)
        b += 1


_WORKER: dict = {}


def _init_worker(p: Params, parent: int) -> None:
    _die_with(parent)
    w = window(p)
    _WORKER.update(p=p, w=w, cal=Calendar(w.W, w.A))
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _die_with(parent: int) -> None:
    """Ask the kernel to kill this worker when its parent dies (Linux PR_SET_PDEATHSIG), then
    check the parent is still the one that started it: a parent killed while this worker was
    still importing leaves no signal to deliver."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)     # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass                                      # not Linux: the watch thread below still exits it
    if os.getppid() != parent:
        os._exit(1)


def _exit_with_parent(ppid: int) -> None:
    """A worker whose parent was killed (SIGKILL gives it no chance to stop its pool) exits
    instead of waiting forever on a queue nobody writes to."""
    while True:
        time.sleep(1)
        if os.getppid() != ppid:
            os._exit(1)


def _make_in_worker(b: int) -> Block:
    return make_block(_WORKER["p"], _WORKER["w"], _WORKER["cal"], b, trim=None)


def _parallel(p: Params, workers: int):
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor
    ctx = multiprocessing.get_context("spawn")   # no fork of a process holding DuckDB's threads
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(p, os.getpid())) as ex:
        pending, b = deque(), 0
        try:
            while True:
                while len(pending) < 2 * workers:    # a few blocks ahead: memory stays bounded
                    pending.append(ex.submit(_make_in_worker, b))
                    b += 1
                yield pending.popleft().result()
        finally:
            ex.shutdown(wait=True, cancel_futures=True)


FINISH = {
    # one 更新順番号 sequence over the whole city, in time order: the numbering is a narrow table of
    # its own first (row ids only, not the 36 columns), then joined -- computed inside the insert
    # instead, the window's sort and the join's build held memory a 2 GB writer did not have
    "honnin": ["{create} {s}_stage_num AS SELECT rowid AS rid, row_number() OVER "
               "(ORDER BY time_stamp, jumin_code, koshin_jun_no) AS n FROM {s}_stage_honnin",
               "INSERT INTO honnin SELECT s.* REPLACE (k.n AS koshin_jun_no) FROM {s}_stage_honnin s "
               "JOIN {s}_stage_num k ON s.rowid = k.rid",
               "DROP TABLE {s}_stage_num"],
    # one batch a processing day: 送付先管理番号 = day + serial, 対象となる人数 = persons in it
    "sofusaki": ["INSERT INTO sofusaki SELECT * REPLACE (strftime(shori_date, '%Y%m%d') || '000001' AS sofusaki_kanri_no,"
                 " CAST(count(*) OVER (PARTITION BY shori_date) AS INTEGER) AS taisho_ninzu) FROM {s}_stage_sofusaki"],
}


def write(con, p: Params, chunk_blocks: int = 8, progress=None, workers: int = 1, stage: Path | None = None) -> dict:
    """Generate the city into an open DuckDB connection (schema created); returns row counts.

    The 本人確認情報 and 送付先情報 wait for their city-wide numbering in staging tables: in a
    scratch database file ``stage`` (removed afterwards) when given -- so a large city's staging
    spills to disk like any table instead of filling memory -- else temporary tables."""
    where = ("CREATE TABLE", "_stage.") if stage is not None else ("CREATE TEMP TABLE", "")
    if stage is not None:
        atomic.remove(stage, Path(f"{stage}.wal"))
        old = os.umask(0o077)           # private, as the store: it holds the registry's rows
        try:
            con.execute(f"ATTACH '{stage}' AS _stage")
        finally:
            os.umask(old)
    try:
        return _write(con, p, chunk_blocks, progress, workers, *where)
    finally:
        if stage is not None:
            con.execute("DETACH _stage")
            atomic.remove(stage, Path(f"{stage}.wal"))


def _write(con, p: Params, chunk_blocks: int, progress, workers: int, create: str, prefix: str) -> dict:
    for t in ("honnin", "sofusaki"):
        con.execute(f"{create} {prefix}_stage_{t} AS SELECT * FROM {t} WHERE FALSE")
    buf: list[Block] = []
    living = 0
    seconds = {"insert": 0.0, "finish": 0.0}

    def flush():
        t0 = time.perf_counter()
        for name, target in (("jumin", "jumin"), ("honnin", f"{prefix}_stage_honnin"),
                             ("sofusaki", f"{prefix}_stage_sofusaki")):
            t = pa.concat_tables([getattr(x, name) for x in buf])
            con.register("_blk", t)
            con.execute(f"INSERT INTO {target} SELECT * FROM _blk")
            con.unregister("_blk")
        buf.clear()
        seconds["insert"] += time.perf_counter() - t0

    task = progress.task("generate", total=p.residents, unit="residents") if progress else None
    ctx = task.__enter__() if task else None
    try:
        for blk in blocks(p, workers):
            buf.append(blk)
            living += blk.living
            if ctx:
                ctx.update(blk.living)
            if len(buf) >= chunk_blocks:
                flush()
        if buf:
            flush()
    finally:
        if task:
            task.__exit__(None, None, None)
    t0 = time.perf_counter()
    # the numbering decides the order, not the insertion: DuckDB need not buffer to keep it
    con.execute("SET preserve_insertion_order = false")
    for table, statements in FINISH.items():
        for sql in statements:
            con.execute(sql.format(create=create, s=prefix))
        con.execute(f"DROP TABLE {prefix}_stage_{table}")
    seconds["finish"] = time.perf_counter() - t0
    counts = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in LAYOUTS}
    return {"residents": living, "tables": counts, "seconds": {k: round(v, 1) for k, v in seconds.items()}}


def generate(p: Params) -> dict[str, pa.Table]:
    """The three files in memory (for tests and small cities): the same path as the store."""
    import duckdb
    con = duckdb.connect()
    store.create_schema(con)
    write(con, p)
    out = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetch_arrow_table() for t in LAYOUTS}
    con.close()
    return out
