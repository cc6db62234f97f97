"""Opening the analysis store: read-only, for the roles that may, never the registry.

Every analyst's notebook, the explorer and ``02_population_statistics`` read only this file.
Several kernels share it (DuckDB opens it read-only in each), instead of each holding a copy.
Opening a file that is not an analysis store -- the registry above all -- is refused.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .. import paths
from ..errors import JukiError

#: The tables statistics read (the de-identified stock and events, and the persons they name).
TABLES = ("stock", "persons", "events")
NOT_PUBLISHED = "no analysis store at {path}: an administrator publishes it with 'juki publish-analysis --as-of YYYY-MM-DD'"


def resolve(db=None) -> Path:
    return Path(db) if db else paths.analysis_db()


def _open(path: Path):
    import ibis
    return ibis.duckdb.connect(database=str(path), read_only=True)


def _meta(path: Path, con=None) -> dict:
    """The store's metadata, read through ``con`` (an open connection to it) or a connection of
    its own."""
    own = con is None
    con = _open(path) if own else con
    try:
        tables = set(con.list_tables())
        if "stock" not in tables or "juki_meta" not in tables:
            kind = "the registry store" if "jumin" in tables else "not an analysis store"
            raise JukiError(f"{path} is {kind}: analysts read only the analysis store")
        m = con.table("juki_meta").to_pyarrow()
        return {k: json.loads(v) for k, v in zip(m.column("key").to_pylist(), m.column("value").to_pylist())}
    finally:
        if own:
            con.disconnect()


def check_published(as_of=None, db=None) -> dict:
    """The analysis store exists and holds ``as_of`` as a reference date; its metadata."""
    path = resolve(db)
    if not path.exists():
        raise JukiError(NOT_PUBLISHED.format(path=path))
    meta = _meta(path)
    if as_of and str(as_of) not in meta["ref_dates"]:
        raise JukiError(f"基準日 {as_of} is not in the analysis store (its reference dates: "
                        f"{', '.join(meta['ref_dates'])}): publish it with 'juki publish-analysis --as-of {as_of}'")
    return meta


class Analysis:
    """The analysis store opened read-only through ibis."""

    def __init__(self, db=None):

        from ..access import guard
        self.path = resolve(db)
        guard.require("open_analysis", self.path.name)
        if not self.path.exists():
            raise JukiError(NOT_PUBLISHED.format(path=self.path))
        self.con = _open(self.path)          # one connection, its metadata read through it
        try:
            self.meta = _meta(self.path, self.con)
        except BaseException:
            self.con.disconnect()
            raise

    @classmethod
    def over(cls, con, meta: dict) -> "Analysis":
        """The same analysis tables (``stock``, ``persons``, ``events``) on another ibis backend,
        e.g. Spark reading them as Parquet (:func:`juki.engine.spark_backend`)."""
        a = cls.__new__(cls)
        a.path, a.meta, a.con = None, meta, con
        return a

    def to_parquet(self, folder) -> list[Path]:
        """The analysis tables as ``<folder>/<table>.parquet``, for another engine; each file
        written whole, then renamed (as :func:`juki.store.to_parquet` writes the registry's)."""
        from .. import atomic
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for t in TABLES:
            out.append(folder / f"{t}.parquet")
            with atomic.replacing(out[-1]) as tmp:
                self.con.table(t).to_parquet(tmp)
        return out

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.meta["as_of"])

    @property
    def ref_dates(self) -> list[dt.date]:
        return [dt.date.fromisoformat(d) for d in self.meta["ref_dates"]]

    def ref_date(self, as_of=None) -> dt.date:
        """A published reference date (the publication's own by default)."""
        if not as_of:
            return self.as_of
        d = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
        if d not in self.ref_dates:
            raise JukiError(f"基準日 {d} is not in the analysis store (its reference dates: "
                            f"{', '.join(self.meta['ref_dates'])}): publish it with 'juki publish-analysis --as-of {d}'")
        return d

    def stock(self, ref_date=None):
        """Residents on a reference date (one row a person), with their record key."""
        import ibis
        d = self.ref_date(ref_date)
        s = self.con.table("stock")
        s = s.filter(s.ref_date == ibis.date(d.year, d.month, d.day))
        return s.join(self.con.table("persons"), "person")

    def events(self):
        return self.con.table("events").join(self.con.table("persons"), "person")

    def close(self) -> None:
        self.con.disconnect()


def identifier_columns(db) -> list[str]:
    """Columns of an analysis store that carry a blocked class of any layout (should be none)."""
    from ..layouts import LAYOUTS
    from ..privacy import blocked_columns
    blocked = {c for lay in LAYOUTS.values() for c in blocked_columns(lay)}
    con = _open(Path(db))
    try:
        cols = [(t, c) for t in con.list_tables() for c in con.table(t).columns]
    finally:
        con.disconnect()
    return sorted(f"{t}.{c}" for t, c in cols if c in blocked)
