"""The synthetic city: a Matsudo-shaped registry generated from a seed, block by block.

Steps, one module each, over typed state: :mod:`.households` (types and members),
:mod:`.people` (who lived, arrived, left, died, split off, naturalised), :mod:`.events` (the
異動 history), :mod:`.identities` (names, numbers, foreign residents' facts), :mod:`.jumin`
(the 住民基本台帳 rows), :mod:`.cs_files` (本人確認情報, 送付先情報), :mod:`.build` (blocks,
chunks, the store).

>>> import datetime as dt
>>> tables = generate(Params(residents=300, seed=7, as_of=dt.date(2026, 4, 1)))
>>> sorted(tables), tables["jumin"].num_rows > 300
(['honnin', 'jumin', 'sofusaki'], True)
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

from .build import generate
from .params import MIN_AS_OF, Params, from_preset

__all__ = ["Params", "generate", "generate_store", "from_preset", "MIN_AS_OF"]


def generate_store(residents=None, preset=None, seed: int = 1, as_of: dt.date | None = None, db=None,
                   force: bool = False, chunk: int | None = None, progress=None, workers: int | None = None):
    """``juki generate``: a new store at ``db`` (an existing one only with ``force``), atomically.

    Needs the administrator role (the guard logs it)."""
    from .. import atomic, store
    from ..access import guard
    from ..errors import JukiError
    from ..log import oplog
    from . import build
    as_of = as_of or dt.date.today()
    if as_of < MIN_AS_OF:
        raise JukiError(f"--as-of {as_of} is too early: the history needs ten years of individual numbers "
                        f"(on or after {MIN_AS_OF})")
    if as_of > dt.date(2100, 12, 31):
        raise JukiError(f"--as-of {as_of} is too far in the future")
    path = store.db_path(db)
    store.check_writable(path)
    params = replace(from_preset(preset or "matsudo", residents), seed=seed, as_of=as_of)
    blocks_per_chunk = max(1, (chunk or 100_000) // (build.BLOCK_HOUSEHOLDS * 2))
    if workers is None:   # child processes pay off from a few blocks on (each starts in ~1 s)
        workers = min(os.cpu_count() or 1, 8) if params.residents >= 100_000 else 1
    with guard.entry("generate", str(path.name), params={"residents": params.residents, "seed": seed,
                                                         "as_of": as_of.isoformat(), "preset": params.preset,
                                                         "force": force}) as g:
        if path.exists() and not force:
            raise JukiError(f"a store already exists at {path}: use --force to replace it "
                            "(its purge records and load log are lost)")
        with store.rewrite(path, attach_source=False, memory=store.memory_limit("write", params.residents)) as rw:
            rows = build.write(rw.con, params, blocks_per_chunk, progress, workers,
                               stage=atomic.temp_beside(path, "stage"))
            store.set_meta(rw.con, {"source": "synthetic", "residents": params.residents, "seed": seed,
                                    "as_of": as_of.isoformat(), "preset": params.preset, "rows": rows["tables"],
                                    "oplog_head": oplog.head()})
        g.records = sum(rows["tables"].values())
    return path, {**rows, "as_of": as_of.isoformat()}
