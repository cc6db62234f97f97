"""Japanese era (元号) dates: display in 和暦, era codes of legacy layouts.

Era codes: 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和.  Boundaries are honoured: 令和元年5月1日
is valid, 平成31年5月1日 is not.

>>> import datetime as dt
>>> to_wareki(dt.date(2019, 5, 1))
'令和元年5月1日'
>>> to_wareki(dt.date(2019, 4, 30))
'平成31年4月30日'
>>> from_era('平成', 31, 5, 1)
Traceback (most recent call last):
...
ValueError: 平成31年5月1日 is not a date of 平成 (1989-01-08 to 2019-04-30)
>>> from_era('明治', 45, 7, 30)
datetime.date(1912, 7, 30)
>>> from_era_code('5060501')
datetime.date(2024, 5, 1)
>>> to_era_code(dt.date(2024, 5, 1))
'5060501'
>>> [str(parse_date(x)) for x in ('20240501', '2024-05-01', '令和6年5月1日', 'R6.5.1', '5060501', '令和元年5月1日')]
['2024-05-01', '2024-05-01', '2024-05-01', '2024-05-01', '2024-05-01', '2019-05-01']
>>> parse_date('平成31年5月1日')
Traceback (most recent call last):
...
ValueError: 平成31年5月1日 is not a date of 平成 (1989-01-08 to 2019-04-30)
>>> parse_date('2024-02-30')
Traceback (most recent call last):
...
ValueError: 2024-02-30 is not a calendar date

Partial dates (不詳日 of the national standard): the known part and its precision --
Y year only, M year and month, U nothing known; the date is the first day of what is known.

>>> [(str(d), p) for d, p in map(parse_partial, ('19910000', '平成3年不詳', '平成3年5月不詳', '1991-05', '年月日不詳', '20240501'))]
[('1991-01-01', 'Y'), ('1991-01-01', 'Y'), ('1991-05-01', 'M'), ('1991-05-01', 'M'), ('None', 'U'), ('2024-05-01', None)]
>>> format_partial(dt.date(1991, 5, 1), 'M')
'平成3年5月（日不詳）'
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

#: (code, name, alphabet letter, first day, last day)
ERAS = (
    ("1", "明治", "M", dt.date(1868, 10, 23), dt.date(1912, 7, 30)),
    ("2", "大正", "T", dt.date(1912, 7, 30), dt.date(1926, 12, 25)),
    ("3", "昭和", "S", dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    ("4", "平成", "H", dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    ("5", "令和", "R", dt.date(2019, 5, 1), dt.date.max),
)


def era_of(d: dt.date):
    """The era a date is shown in (the later era on the shared change days)."""
    for era in reversed(ERAS):
        if d >= era[3]:
            return era
    raise ValueError(f"{d} is before 明治")


def to_wareki(d: dt.date) -> str:
    code, name, _, start, _ = era_of(d)
    year = d.year - start.year + 1
    return f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日"


def _era(key: str):
    for era in ERAS:
        if key in (era[0], era[1], era[2], era[2].lower()):
            return era
    raise ValueError(f"unknown era {key!r}")


def from_era(era: str, year: int, month: int, day: int) -> dt.date:
    code, name, _, start, end = _era(era)
    try:
        d = dt.date(start.year + year - 1, month, day)
    except ValueError:
        raise ValueError(f"{name}{year}年{month}月{day}日 is not a calendar date") from None
    if not (start <= d <= end) or year < 1:
        last = "" if end == dt.date.max else f" to {end}"
        raise ValueError(f"{name}{year}年{month}月{day}日 is not a date of {name} ({start}{last})")
    return d


def from_era_code(s: str) -> dt.date:
    """元号コード + YYMMDD, e.g. '5060501' -> 2024-05-01."""
    if len(s) != 7 or not s.isdigit():
        raise ValueError(f"{s!r} is not 元号コード+YYMMDD")
    return from_era(s[0], int(s[1:3]), int(s[3:5]), int(s[5:7]))


def to_era_code(d: dt.date) -> str:
    code, _, _, start, _ = era_of(d)
    return f"{code}{d.year - start.year + 1:02d}{d.month:02d}{d.day:02d}"


_ERA_TEXT = re.compile(r"^(明治|大正|昭和|平成|令和|[MTSHRmtshr])\s*(元|\d{1,2})[年.\-/](\d{1,2})[月.\-/](\d{1,2})日?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_YMD = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_KANJI_YMD = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")


def parse_date(text: str) -> dt.date:
    """A date in any form an export uses: YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日,
    era text (令和6年5月1日, R6.5.1, 令和元年5月1日) or 元号コード+YYMMDD (5060501).
    Full-width digits are accepted."""
    s = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    m = _ERA_TEXT.match(s)
    if m:
        y = 1 if m.group(2) == "元" else int(m.group(2))
        return from_era(m.group(1), y, int(m.group(3)), int(m.group(4)))
    for pat in (_ISO, _SLASH, _YMD, _KANJI_YMD):
        m = pat.match(s)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise ValueError(f"{text} is not a calendar date") from None
    if len(s) == 7 and s.isdigit():
        return from_era_code(s)
    raise ValueError(f"{text!r} is not a date (YYYYMMDD, YYYY-MM-DD, 令和6年5月1日, R6.5.1 or 5060501)")


_PARTIAL_ERA = re.compile(r"^(明治|大正|昭和|平成|令和|[MTSHRmtshr])\s*(元|\d{1,2})年(?:(\d{1,2})月)?(?:不詳|日不詳|月日不詳)?$")
_PARTIAL_YMD = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PARTIAL_ISO = re.compile(r"^(\d{4})(?:[-/](\d{1,2}))?$")
UNKNOWN = ("不詳", "年月日不詳", "不明")


def parse_partial(text: str) -> tuple[dt.date | None, str | None]:
    """(date, precision) of a full or partial date; precision None for a full date.

    Accepts everything :func:`parse_date` does, plus YYYY0000 / YYYYMM00, YYYY / YYYY-MM,
    era text with the unknown part written 不詳 (平成3年不詳, 平成3年5月不詳), and 年月日不詳."""
    s = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    if s in UNKNOWN:
        return None, "U"
    m = _PARTIAL_YMD.match(s)
    if m and (m.group(2) == "00" or m.group(3) == "00"):
        y, mo = int(m.group(1)), int(m.group(2))
        if mo == 0:
            return dt.date(y, 1, 1), "Y"
        if not 1 <= mo <= 12:
            raise ValueError(f"{text} is not a calendar date")
        return dt.date(y, mo, 1), "M"
    m = _PARTIAL_ISO.match(s)
    if m:
        y, mo = int(m.group(1)), m.group(2)
        if mo is None:
            return dt.date(y, 1, 1), "Y"
        if not 1 <= int(mo) <= 12:
            raise ValueError(f"{text} is not a calendar date")
        return dt.date(y, int(mo), 1), "M"
    m = _PARTIAL_ERA.match(s)
    if m:
        y = 1 if m.group(2) == "元" else int(m.group(2))
        if m.group(3) is None:
            code, name, _, start, end = _era(m.group(1))
            d = dt.date(start.year + y - 1, 1, 1)
            if y < 1 or d.year > end.year:
                raise ValueError(f"{name}{y}年 is not a year of {name}")
            return max(d, start), "Y"
        month = int(m.group(3))
        code, name, _, start, end = _era(m.group(1))
        try:
            d = dt.date(start.year + y - 1, month, 1)
        except ValueError:
            raise ValueError(f"{text} is not a calendar date") from None
        if d > end or dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1) <= start:
            raise ValueError(f"{name}{y}年{month}月 is not a month of {name}")
        return max(d, start), "M"
    return parse_date(text), None


def format_partial(d: dt.date | None, precision: str | None) -> str:
    """和暦 display of a full or partial date."""
    if precision == "U" or d is None:
        return "年月日不詳"
    _, name, _, start, _ = era_of(d)
    y = d.year - start.year + 1
    yy = "元" if y == 1 else str(y)
    if precision == "Y":
        return f"{name}{yy}年（月日不詳）"
    if precision == "M":
        return f"{name}{yy}年{d.month}月（日不詳）"
    return to_wareki(d)
