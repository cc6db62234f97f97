"""Privacy by construction: the one place where sensitivity classes are enforced.

* :func:`statistical_columns` -- the columns of a layout that statistics may read (no
  individual number, other identifier, secret, or identifying text such as names, readings
  and addresses);
* the analysis store (:mod:`juki.analysis.publish`) holds statistical columns only, derived
  on the registry side; statistics read nothing else;
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


__all__ = ["statistical_columns", "blocked_columns", "mask", "key_label", "BLOCKED_CLASSES"]
