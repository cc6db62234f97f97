"""個人番号 (12-digit individual number), a thin layer over python-stdnum's ``jp.in_``.

The check digit rule (総務省令第85号 第5条) is python-stdnum's; this module adds the forms the
workbench needs around it, side by side: vectorised check digits for the generator and the
loader, the same rule in SQL for the quality review, and masking.

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
>>> import duckdb
>>> duckdb.sql(f"SELECT {sql_is_valid('x')} FROM (VALUES ('621498320257'), ('621498320258')) t(x)").fetchall()
[(True,), (False,)]
"""
from stdnum.jp import in_ as _in

from ._sql import digits_ok, last_digit, weighted_sum

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


def sql_is_valid(col: str) -> str:
    """SQL: TRUE when ``col`` is a valid 個人番号 (NULL passes; tests compare it with stdnum)."""
    s = weighted_sum(col, 12, WEIGHTS + (0,))
    return (f"({col} IS NULL OR ({digits_ok(col, 12)} AND "
            f"{last_digit(col)} = (CASE WHEN ({s}) % 11 <= 1 THEN 0 ELSE 11 - ({s}) % 11 END)))")
