"""Japanese business days (開庁日): not a weekend, not a national holiday (jpholiday),
not 12/29-1/3.

>>> import datetime as dt
>>> is_business_day(dt.date(2026, 1, 5)), is_business_day(dt.date(2026, 1, 3))
(True, False)
>>> next_business_day(dt.date(2025, 12, 26))   # Friday -> the next 開庁日 is 5 January
datetime.date(2026, 1, 5)
>>> add_business_days(dt.date(2026, 5, 1), 1)  # Golden Week
datetime.date(2026, 5, 7)
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import jpholiday


def is_year_end(d: dt.date) -> bool:
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_business_day(d: dt.date) -> bool:
    return d.weekday() < 5 and not is_year_end(d) and not jpholiday.is_holiday(d)


def next_business_day(d: dt.date) -> dt.date:
    """The first business day strictly after ``d``."""
    return add_business_days(d, 1)


def add_business_days(d: dt.date, n: int) -> dt.date:
    step = 1 if n >= 0 else -1
    left = abs(n)
    while left:
        d += dt.timedelta(days=step)
        if is_business_day(d):
            left -= 1
    return d


def on_or_after(d: dt.date) -> dt.date:
    while not is_business_day(d):
        d += dt.timedelta(days=1)
    return d


@lru_cache(maxsize=8)
def business_days(start: dt.date, end: dt.date):
    """Sorted numpy array (datetime64[D]) of business days in [start, end]."""
    import numpy as np
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    mask = np.array([is_business_day(d) for d in days.astype(dt.date)])
    return days[mask]
