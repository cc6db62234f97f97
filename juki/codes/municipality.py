"""全国地方公共団体コード (6 digits: 5-digit code + check digit).

Check digit: with digits abcde, s = 6a+5b+4c+3d+2e, check = (11 - s mod 11) mod 10.

>>> calc_check_digit('12207')
'6'
>>> is_valid('122076')
True
>>> is_valid('122077')
False
>>> validate('12-2076')
'122076'
>>> [is_valid(c) for c in ('131016', '011002', '121002', '122041')]
[True, True, True, True]
>>> import ibis
>>> t = ibis.memtable({"x": ['122076', '122077', None]})
>>> ibis.duckdb.connect().execute(t.select(ok=is_valid_expr(t.x))).ok.tolist()
[True, False, True]
"""
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.util import clean

from ._expr import valid_or_null, weighted_sum

MATSUDO = "122076"
WEIGHTS = (6, 5, 4, 3, 2)


def compact(number: str) -> str:
    return clean(number, " -").strip()


def calc_check_digit(number: str) -> str:
    s = sum(w * int(d) for w, d in zip(WEIGHTS, number[:5]))
    return str((11 - s % 11) % 10)


def validate(number: str) -> str:
    number = compact(number)
    if not number.isdigit():
        raise InvalidFormat()
    if len(number) != 6:
        raise InvalidLength()
    if number[-1] != calc_check_digit(number):
        raise InvalidChecksum()
    return number


def is_valid(number: str) -> bool:
    try:
        return bool(validate(number))
    except (ValidationError, TypeError):
        return False


def format(number: str) -> str:  # noqa: A001 - stdnum's verb
    return compact(number)


def is_valid_expr(col):
    """ibis: TRUE when the text column ``col`` is a valid municipality code (NULL passes)."""
    return valid_or_null(col, 6, (11 - weighted_sum(col, 6, WEIGHTS + (0,)) % 11) % 10)
