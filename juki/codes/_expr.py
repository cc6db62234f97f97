"""ibis building blocks the number modules share: weighted digit sums over a text column read
as an integer (integer arithmetic is several times faster than one substring per digit).

Expressions, not SQL text: the same rule compiles for DuckDB and for Spark.
"""
from __future__ import annotations


def digits_ok(col, length: int):
    """TRUE when ``col`` is exactly ``length`` ASCII digits."""
    return col.re_search(f"^[0-9]{{{length}}}$")


def _number(col):
    return col.try_cast("int64")


def weighted_sum(col, length: int, weights):
    """Sum of weights x digits (from the left) of ``col`` read as an integer."""
    n = _number(col)
    terms = [w * ((n // 10 ** (length - 1 - i)) % 10) for i, w in enumerate(weights) if w]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def last_digit(col):
    return _number(col) % 10


def mod11(s):
    """The usual modulus-11 check digit of a weighted sum: 0 when s mod 11 <= 1, else 11 - r."""
    import ibis
    r = s % 11
    return ibis.ifelse(r <= 1, 0, 11 - r)


def valid_or_null(col, length: int, check) -> object:
    """TRUE when ``col`` is NULL, or ``length`` digits whose last one equals ``check``."""
    return col.isnull() | (digits_ok(col, length) & (last_digit(col) == check))
