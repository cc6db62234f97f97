"""Privacy by construction: the one place where sensitivity classes are enforced.

* :func:`statistical_columns` -- the columns of a layout that statistics may read (no
  individual number, identifier, secret, or identifying text such as names and addresses);
* :func:`residents` -- the de-identified view of residents as of a date, the only door
  statistics code has to the 住民基本台帳ファイル;
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
from dataclasses import dataclass

from .layouts import LAYOUTS, Layout, get

#: Classes no statistics may read.
BLOCKED_CLASSES = frozenset({"individual_number", "identifier", "secret"})


def statistical_columns(layout: Layout) -> list[str]:
    return [i.column for i in layout.all_columns
            if i.sensitivity not in BLOCKED_CLASSES and not i.identifying]


def blocked_columns(layout: Layout) -> list[str]:
    allowed = set(statistical_columns(layout))
    return [c for c in layout.columns if c not in allowed]


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
    """An ibis table that carries no identifier column; statistics accept only this type."""
    expr: object
    as_of: dt.date | None = None

    @property
    def columns(self):
        return list(self.expr.columns)


_AGE = ("(year(DATE '{d}') - year(seinengappi) - "
        "CASE WHEN month(DATE '{d}') * 100 + day(DATE '{d}') < month(seinengappi) * 100 + day(seinengappi) "
        "THEN 1 ELSE 0 END)")


def residents(con, as_of: dt.date) -> DeidentifiedTable:
    """Residents as of ``as_of`` (the national standard's rule), without identifiers.

    The registry as known on ``as_of`` is each person's latest record processed by that day;
    a person counts while that record is not a removal, or is a 転出 whose planned date has not
    passed yet.  Identifier columns are used inside the query only to pick that record and
    never leave it.
    """
    d = as_of.isoformat()
    cols = [c for c in statistical_columns(get("jumin"))]
    sql = f"""
        WITH known AS (
            SELECT * FROM jumin WHERE shori_date <= DATE '{d}'
            QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no)
        )
        SELECT {', '.join(cols)},
               {_AGE.format(d=d)} AS age,
               CASE WHEN kokuseki IS NULL THEN '日本人住民' ELSE '外国人住民' END AS nationality_group
        FROM known
        WHERE (ido_kubun <> '2' OR shojo_date > DATE '{d}') AND jumin_date <= DATE '{d}'
    """
    return DeidentifiedTable(con.sql(sql), as_of)


__all__ = ["statistical_columns", "blocked_columns", "mask", "residents", "DeidentifiedTable", "LAYOUTS"]
