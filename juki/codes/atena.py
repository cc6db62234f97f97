"""宛名番号 / 世帯番号: serial number + check digit, modulus 11 with weights 2-7 (M11W2～7).

Weights 2, 3, 4, 5, 6, 7, 2, 3 ... are applied from the rightmost serial digit; remainder
r = s mod 11; check = 0 when r is 0 or 1 (the standard states 0 -> 0 only; treating 1 the
same is a documented local choice), else 11 - r.

>>> calc_check_digit('000000001')
'9'
>>> is_valid('0000000019')
True
>>> is_valid('0000000018')
False
>>> import ibis
>>> t = ibis.memtable({"x": ['0000000019', '0000000018', None]})
>>> ibis.duckdb.connect().execute(t.select(ok=is_valid_expr(t.x))).ok.tolist()
[True, False, True]
"""
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from ._expr import mod11, valid_or_null, weighted_sum


def _weights(serial_length: int) -> list[int]:
    """Weights of the serial digits from the left (2, 3, ... 7, 2 ... from the right)."""
    return [2 + k % 6 for k in range(serial_length)][::-1]


def calc_check_digit(serial: str) -> str:
    s = sum(int(d) * w for d, w in zip(serial, _weights(len(serial))))
    r = s % 11
    return "0" if r <= 1 else str(11 - r)


def validate(number: str, length: int = 10) -> str:
    number = str(number).strip()
    if not number.isdigit():
        raise InvalidFormat()
    if len(number) != length:
        raise InvalidLength()
    if number[-1] != calc_check_digit(number[:-1]):
        raise InvalidChecksum()
    return number


def is_valid(number: str, length: int = 10) -> bool:
    try:
        return bool(validate(number, length))
    except ValidationError:
        return False


def check_digits_array(serials, serial_length: int = 9):
    """Vectorised check digits for a 1-D integer array of serials."""
    import numpy as np
    s = np.zeros(len(serials), dtype=np.int64)
    v = np.asarray(serials, dtype=np.int64).copy()
    for i in range(serial_length):
        s += (v % 10) * (2 + i % 6)
        v //= 10
    r = s % 11
    return np.where(r <= 1, 0, 11 - r)


def is_valid_expr(col, length: int = 10):
    """ibis: TRUE when ``col`` is NULL or a number of ``length`` digits with its M11W2-7 check digit."""
    return valid_or_null(col, length, mod11(weighted_sum(col, length, _weights(length - 1) + [0])))
