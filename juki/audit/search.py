"""Search for reviewers: at least two of name, address and birth date (sex does not count),
masked rows only, every search logged.

>>> fields_given(name="山田　太郎", sex="1")
['name']
>>> check_two_of_four(name="山田　太郎", sex="1")
Traceback (most recent call last):
...
juki.errors.JukiError: a search needs at least two of name, address and birth date (sex does not count); given: name
"""
from __future__ import annotations

import datetime as dt
import unicodedata

import pandas as pd

from ..codes.kana import PLAIN, VOICED, seion
from ..errors import JukiError
from ..privacy import mask
from . import guard

NEEDS = {"reviewer", "number_clerk"}


def fields_given(name=None, address=None, birth_date=None, sex=None) -> list[str]:
    return [k for k, v in (("name", name), ("address", address), ("birth_date", birth_date)) if v not in (None, "")]


def check_two_of_four(name=None, address=None, birth_date=None, sex=None) -> None:
    given = fields_given(name, address, birth_date)
    if len(given) < 2:
        raise JukiError("a search needs at least two of name, address and birth date (sex does not count); "
                        f"given: {', '.join(given) or 'nothing'}")


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def search(con, name=None, address=None, birth_date=None, sex=None, operator: str | None = None,
           limit: int = 100) -> pd.DataFrame:
    """Current records matching the criteria (name in kanji or kana, 清音化; address substring;
    exact birth date), masked.  Refused and logged when fewer than two criteria are given."""
    params = {"fields": fields_given(name, address, birth_date), "sex_given": sex is not None}
    with guard.entry("search", "jumin", NEEDS, operator=operator, params=params) as g:
        check_two_of_four(name, address, birth_date, sex)
        conds, args = ["TRUE"], []
        if name:
            conds.append("(replace(replace(j.shimei, '　', ''), ' ', '') = ? OR "
                         "translate(replace(h.furigana_shimei, '　', ''), ?, ?) = ?)")
            n = _norm(name)
            args += [n, VOICED, PLAIN, seion(n)]
        if address:
            conds.append("strpos(j.genjusho, ?) > 0")
            args.append(_norm(address).replace("千葉県", ""))
        if birth_date:
            d = birth_date if isinstance(birth_date, dt.date) else dt.date.fromisoformat(str(birth_date))
            conds.append("j.seinengappi = ?")
            args.append(d)
        if sex:
            conds.append("j.seibetsu = ?")
            args.append(sex)
        duck = getattr(con, "con", con)
        df = duck.execute(f"""
            SELECT j.atena_no, j.shimei, j.seinengappi, j.seibetsu, j.genjusho FROM jumin_current j
              LEFT JOIN (SELECT jumin_code, furigana_shimei FROM honnin WHERE record_jokyo_flag = '0') h
              ON h.jumin_code = j.jumin_code
            WHERE {' AND '.join(conds)} ORDER BY j.atena_no LIMIT {int(limit) + 1}""", args).fetchdf()
        g.records = min(len(df), limit)
        if len(df) > limit:
            g.detail = f"more than {limit} matches: narrow the search"
            df = df.head(limit)
    out = pd.DataFrame({
        "宛名番号": [mask("jumin", "atena_no", v)[:-4] + str(v)[-4:] for v in df["atena_no"]],
        "氏名": [mask("jumin", "shimei", v) for v in df["shimei"]],
        "生年月日": df["seinengappi"], "性別": df["seibetsu"].map({"1": "男", "2": "女"}),
        "住所": [mask("jumin", "genjusho", v) for v in df["genjusho"]],
    })
    return out
