"""Days as integers (days since 1970-01-01), the missing-day marker, business days, seasons.

The generator works on numpy arrays of day numbers; :data:`NA` marks a missing date (one
definition), :func:`to_arrow_date` turns such arrays into typed Arrow columns.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

EPOCH = dt.date(1970, 1, 1)
#: The missing-day marker of every day array.
NA = np.iinfo(np.int64).min
FAR = np.iinfo(np.int64).max
#: Relative frequency of moves by month (Jan..Dec): the school and work year starts in April.
MOVE_SEASON = np.array([0.85, 0.95, 2.0, 1.7, 0.9, 0.8, 0.85, 0.85, 0.8, 0.8, 0.75, 0.75])


def day(d: dt.date) -> int:
    return (d - EPOCH).days


def date(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


@lru_cache(maxsize=8)
def business_days(start: int, end: int) -> np.ndarray:
    """Sorted int64 day numbers of the 開庁日 in [start, end]."""
    from .. import businessdays
    return businessdays.business_days(date(start), date(end)).astype("datetime64[D]").astype(np.int64)


class Calendar:
    """Business-day arithmetic over the history window."""

    def __init__(self, start: int, end: int):
        self.bd = business_days(start - 40, end + 60)

    def on_or_after(self, x):
        return self.bd[np.clip(np.searchsorted(self.bd, x), 0, len(self.bd) - 1)]

    def after(self, x):
        return self.bd[np.clip(np.searchsorted(self.bd, x, side="right"), 0, len(self.bd) - 1)]

    def last_on_or_before(self, x):
        return self.bd[np.clip(np.searchsorted(self.bd, x, side="right") - 1, 0, len(self.bd) - 1)]


def seasonal_days(rng, lo, hi, n: int) -> np.ndarray:
    """n days in [lo, hi) (arrays or scalars), more of them in March and April."""
    lo = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,))
    span = np.maximum(hi - lo, 1)
    # draw a few candidates and keep one by the month's weight (rejection sampling, vectorised)
    k = 4
    cand = lo[:, None] + (rng.random((n, k)) * span[:, None]).astype(np.int64)
    month = (cand.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12)
    w = MOVE_SEASON[month]
    pick = np.argmax(rng.random((n, k)) * w, axis=1)
    return cand[np.arange(n), pick]
