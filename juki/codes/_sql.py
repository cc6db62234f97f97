"""SQL building blocks the number modules share: weighted digit sums over a column read as an
integer (integer arithmetic is several times faster in DuckDB than one substr() per digit).

Only portable SQL is produced (TRY_CAST, integer division, modulo, CASE, regexp_matches with
anchors), so the same text transpiles with sqlglot to other engines.
"""
from __future__ import annotations


def digits_ok(col: str, length: int) -> str:
    """TRUE when ``col`` is exactly ``length`` ASCII digits."""
    return f"regexp_matches({col}, '^[0-9]{{{length}}}$')"


def digit(n: str, length: int, i: int) -> str:
    """The i-th digit (0-based, from the left) of an integer ``n`` of ``length`` digits."""
    return f"(({n} // {10 ** (length - 1 - i)}) % 10)"


def weighted_sum(col: str, length: int, weights) -> str:
    """Sum of weights x digits (from the left) of ``col`` read as an integer."""
    n = f"TRY_CAST({col} AS BIGINT)"
    return " + ".join(f"{w} * {digit(n, length, i)}" for i, w in enumerate(weights) if w)


def last_digit(col: str) -> str:
    return f"(TRY_CAST({col} AS BIGINT) % 10)"
