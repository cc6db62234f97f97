"""個人番号 (12-digit individual number), a thin layer over python-stdnum's ``jp.in_``.

The check digit rule (総務省令第85号 第5条) is python-stdnum's; this module adds the forms the
workbench needs around it, side by side: vectorised check digits for the generator and the
loader, the same rule as an ibis expression for the quality review, and masking.

>>> is_valid('621498320257')
True
>>> is_valid('621498320258')
False
>>> calc_check_digit('12345678901')
'8'
>>> mask('621498320257')
'********0257'
>>> mask(None)
''
>>> import ibis
>>> t = ibis.memtable({"x": ['621498320257', '621498320258', None]})
>>> ibis.duckdb.connect().execute(t.select(ok=is_valid_expr(t.x))).ok.tolist()
[True, False, True]
"""
from stdnum.jp import in_ as _in

from ._expr import mod11, valid_or_null, weighted_sum

compact = _in.compact
calc_check_digit = _in.calc_check_digit
validate = _in.validate
is_valid = _in.is_valid
format = _in.format  # noqa: A001

WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def mask(number, keep: int = 4) -> str:
    """Show only the last ``keep`` digits (the usual screen masking)."""
    if not number:
        return ""
    s = str(number)
    return "*" * (len(s) - keep) + s[-keep:] if keep else "*" * len(s)


def from_base(base11: str) -> str:
    """Complete 11 base digits with their check digit."""
    return base11 + calc_check_digit(base11)


def check_digits_array(bases):
    """Vectorised check digits for an (n, 11) integer numpy array of base digits.

    Same rule as stdnum (weights 6,5,4,3,2,7,6,5,4,3,2; r = s mod 11; 0 if r <= 1 else 11 - r);
    tests compare it with stdnum.
    """
    import numpy as np
    r = (bases * np.array(WEIGHTS)).sum(axis=1) % 11
    return np.where(r <= 1, 0, 11 - r)


def is_valid_expr(col):
    """ibis: TRUE when the text column ``col`` is a valid 個人番号 (NULL passes; tests compare it with stdnum)."""
    return valid_or_null(col, 12, mod11(weighted_sum(col, 12, WEIGHTS + (0,))))
