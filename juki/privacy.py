"""Privacy by construction: the one place where sensitivity classes are enforced.

* :func:`statistical_columns` -- the columns of a layout that statistics may read (no
  individual number, other identifier, secret, or identifying text such as names, readings
  and addresses);
* :class:`Deidentified` -- an in-memory database holding a de-identified copy of the
  住民基本台帳ファイル (statistical columns, plus a random per-build pseudonym for the person
  and the household); the store is detached once the copy is made, so statistics code
  cannot reach an identifier column even by mistake;
* :func:`mask` -- how a value of any column is shown outside number-use work.

>>> from juki.layouts import get
>>> 'kojin_bango' in statistical_columns(get('jumin')), 'seibetsu' in statistical_columns(get('jumin'))
(False, True)
>>> mask('jumin', 'kojin_bango', '621498320257')
'************'
>>> mask('jumin', 'shimei', '山田　太郎')
'山＊＊＊＊'
>>> mask('jumin', 'seibetsu', '1')
'1'
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from . import residency
from .layouts import Layout, get

#: Classes no statistics may read.
BLOCKED_CLASSES = frozenset({"individual_number", "identifier", "secret"})


def statistical_columns(layout: Layout) -> list[str]:
    return [i.column for i in layout.all_columns
            if i.sensitivity not in BLOCKED_CLASSES and not i.identifying]


def blocked_columns(layout: Layout) -> list[str]:
    allowed = set(statistical_columns(layout))
    return [c for c in layout.columns if c not in allowed]


def key_label(table: str, column: str, value) -> str:
    """How a row-key value is shown to a reviewer: internal keys (宛名番号, 管理番号, 更新順番号) as
    they are, a 住民票コード by its last four digits only.

    >>> key_label('honnin', 'jumin_code', '12345678901'), key_label('jumin', 'atena_no', '1000000019')
    ('*******8901', '1000000019')
    """
    if value is None:
        return ""
    if get(table).item(column).number == "jumin_code":
        from .codes.jumin_code import mask_tail
        return mask_tail(value)
    return str(value)


def mask(table: str, column: str, value) -> str:
    """Display form of a value outside number-use work."""
    if value is None:
        return ""
    item = get(table).item(column)
    s = str(value)
    if item.sensitivity in BLOCKED_CLASSES:
        return "*" * len(s)
    if item.identifying:
        return s[:1] + "＊" * max(len(s) - 1, 0)
    return s


@dataclass(frozen=True)
class DeidentifiedTable:
    """An ibis table over the de-identified copy only; statistics accept only this type."""
    expr: object
    as_of: dt.date | None = None

    @property
    def columns(self):
        return list(self.expr.columns)


class Deidentified:
    """De-identified copy of the registry in an in-memory DuckDB, opened through ibis.

    ``deid_jumin`` holds, per 住民基本台帳 row, the statistical columns, the 履歴番号 and two
    pseudonyms -- ``person`` and ``household`` -- keyed hashes of 宛名番号 and 世帯番号 with a
    random key drawn for this build only (never stored), so they link rows within one
    analysis and nothing else.
    """

    TABLE = "deid_jumin"

    def __init__(self, db=None):
        import ibis

        from . import store

        path = store.db_path(db)
        src = store.connect(path)          # checks the store exists
        self.meta = store.meta(src)
        src.disconnect()
        self.con = ibis.duckdb.connect()
        key = os.urandom(16).hex()
        cols = ", ".join(c for c in statistical_columns(get("jumin")) if c != "rireki_no")
        self.con.raw_sql(f"ATTACH '{str(path)}' AS registry (READ_ONLY)")
        # the pseudonyms take the key columns' names so that juki.residency applies unchanged
        self.con.raw_sql(
            f"CREATE TEMP TABLE {self.TABLE} AS SELECT CAST(hash('{key}' || atena_no) AS VARCHAR) AS atena_no, "
            f"CAST(hash('{key}' || setai_no) AS VARCHAR) AS household, rireki_no, {cols} FROM registry.jumin")
        self.con.raw_sql("DETACH registry")
        del key

    @property
    def as_of(self) -> dt.date:
        return residency.reference_date(None, self.meta.get("as_of"))

    def history(self) -> DeidentifiedTable:
        """Every row (each 異動) of the de-identified 住民基本台帳ファイル."""
        return DeidentifiedTable(self.con.table(self.TABLE))

    def residents(self, as_of: dt.date) -> DeidentifiedTable:
        """Residents on ``as_of`` (:func:`juki.residency.residents`), with ``age`` and ``nationality_group``."""
        import ibis
        liv = residency.resident_ages(self.con.table(self.TABLE), as_of)
        group = ibis.ifelse(liv.kokuseki.isnull(), "日本人住民", "外国人住民")
        return DeidentifiedTable(liv.mutate(household=liv.household, nationality_group=group), as_of)


__all__ = ["statistical_columns", "blocked_columns", "mask", "Deidentified", "DeidentifiedTable"]
