"""Search for reviewers and number clerks: two of the four basic facts, sex never counting.

A fact counts only when it means something (PIA: 基本4情報のうち2つ以上): after NFKC and
space removal a name has at least two characters; an address resolves to a 町丁字 of the city
(:mod:`juki.codes.address`); a birth date is a valid date (a partial one, 平成3年5月, as the
standard allows).  Both the 住民基本台帳ファイル (current records) and the 本人確認情報ファイル
(current 本人確認情報, by kanji name or 清音化 reading) are searched.  Output is masked; every
search is logged with the persons it returned (宛名番号), a refusal as ``refused``, and a search
returning more than ``search_broad_limit`` persons is flagged ``broad`` for the access audit, as
are searches that enumerate (``many_searches``, ``many_persons``: more searches or persons in a
day than the settings allow).  Results show the birth year only, unless the full birth date was
one of the facts given.

>>> meaningful(name="山田　太郎", sex="1")
(['name'], ['sex never counts'])
>>> meaningful(name="山", birth_date="1980-01-02")[1]
['name: fewer than 2 characters']
>>> check_two_of_four(name="山田　太郎", address=" ")
Traceback (most recent call last):
...
juki.access.roles.Refused: a search needs two of name, address and birth date (sex does not count); usable: name; not usable: address: empty
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from . import engine, residency
from .access import guard
from .access.roles import Refused
from .codes import address as addr_codes
from .codes.era import parse_partial
from .codes.kana import PLAIN, VOICED, seion
from .privacy import mask
from .text import squash

NAME_MIN = 2
BROAD_LIMIT = 20


def meaningful(name=None, address=None, birth_date=None, sex=None) -> tuple[list[str], list[str]]:
    """(facts that count, reasons the others do not)."""
    ok, why = [], []
    if name is not None:
        n = squash(str(name))
        (ok.append("name") if len(n) >= NAME_MIN else why.append(f"name: fewer than {NAME_MIN} characters"))
    if address is not None:
        a = squash(str(address))
        if not a:
            why.append("address: empty")
        elif addr_codes.town_code(a) is None:
            why.append("address: names no 町丁字 of the city")
        else:
            ok.append("address")
    if birth_date is not None:
        if isinstance(birth_date, dt.date):
            ok.append("birth_date")
        else:
            try:
                d, prec = parse_partial(str(birth_date))
                (ok.append("birth_date") if d is not None else why.append("birth_date: unknown"))
            except ValueError as e:
                why.append(f"birth_date: {e}")
    if sex is not None:
        why.append("sex never counts")
    return ok, why


def check_two_of_four(name=None, address=None, birth_date=None, sex=None) -> None:
    ok, why = meaningful(name, address, birth_date, sex)
    if len(ok) < 2:
        not_usable = [w for w in why if w != "sex never counts"]
        raise Refused("a search needs two of name, address and birth date (sex does not count); "
                      f"usable: {', '.join(ok) or 'nothing'}"
                      + (f"; not usable: {'; '.join(not_usable)}" if not_usable else ""))


DAILY_LIMIT = 30        # searches by one operator in a day before they are flagged
DAILY_PERSONS = 60      # persons listed to one operator in a day before the searches are flagged


def setting(name: str, default: int) -> int:
    """A search setting from the operators file's ``[settings]`` (root's, in an installation)."""
    from .access.roles import operators_path
    from .tomlfile import read
    try:
        return int(read(operators_path(), "operators file").get("settings", {}).get(name, default))
    except Exception:
        return default


def broad_limit() -> int:
    return setting("search_broad_limit", BROAD_LIMIT)


def enumeration_flags(operator: str, persons: list, today: dt.date | None = None) -> list[str]:
    """Flags for a search that, with the operator's earlier searches today, enumerates residents:
    ``many_searches`` beyond ``search_daily_limit`` searches, ``many_persons`` when the persons
    listed today exceed ``search_daily_persons``."""
    from .log import oplog
    day = (today or dt.date.today()).isoformat()
    n, seen = 1, set(persons)
    for e in oplog.entries_on(day):
        if e.get("action") == "search" and e.get("operator") == operator and e.get("outcome") == "ok":
            n += 1
            seen.update(oplog.persons_of(e))
    flags = []
    if n > setting("search_daily_limit", DAILY_LIMIT):
        flags.append("many_searches")
    if len(seen) > setting("search_daily_persons", DAILY_PERSONS):
        flags.append("many_persons")
    return flags


def _squashed(col):
    return col.replace("　", "").replace(" ", "")


def _matches(con, ok: list, name, address, birth_date, sex, limit: int) -> pd.DataFrame:
    """Current records of either file meeting every usable fact, one row a person (ibis)."""
    import ibis
    cur = residency.current(con.table("jumin"), None)
    hcur = residency.honnin_current(con.table("honnin"), None)
    ids = cur.select(c_atena=cur.atena_no, c_code=cur.jumin_code)
    h = hcur.left_join(ids, hcur.jumin_code == ids.c_code)
    h = h.select(atena_no=h.c_atena, jumin_code=h.jumin_code, shimei=h.kanji_shimei, furigana=h.furigana_shimei,
                 seinengappi=h.seinengappi, seibetsu=h.seibetsu, genjusho=h.jusho, town_code=h.aza_code)
    j = cur.select("atena_no", "jumin_code", "shimei", "seinengappi", "seibetsu", "genjusho", "town_code")
    if "name" in ok:
        n = squash(name)
        j = j.filter(_squashed(j.shimei) == n)
        h = h.filter((_squashed(h.shimei) == n) | (_squashed(h.furigana).translate(VOICED, PLAIN) == seion(n)))
    if "address" in ok:
        a = squash(address)
        code, norm = addr_codes.town_code(a), addr_codes.normalise(a)
        j = j.filter(j.town_code == code, addr_codes.normalise_expr(j.genjusho).contains(norm))
        h = h.filter(h.town_code == code, addr_codes.normalise_expr(h.genjusho).contains(norm))
    if "birth_date" in ok:
        d, prec = (birth_date, None) if isinstance(birth_date, dt.date) else parse_partial(str(birth_date))
        unit = {"Y": "Y", "M": "M"}.get(prec)
        j = j.filter((j.seinengappi.truncate(unit) if unit else j.seinengappi) == d)
        h = h.filter((h.seinengappi.truncate(unit) if unit else h.seinengappi) == d)
    if sex:
        j, h = j.filter(j.seibetsu == sex), h.filter(h.seibetsu == sex)
    cols = ["atena_no", "jumin_code", "shimei", "seinengappi", "seibetsu", "genjusho"]
    def side(t, in_j: bool):   # both sides nullable alike (a union needs equal schemas)
        return t.select(**{c: t[c].cast(t[c].type().copy(nullable=True)) for c in cols}, in_j=ibis.literal(in_j))
    u = side(j, True).union(side(h, False), distinct=False)
    person = u.atena_no.fill_null("")
    lone = ibis.ifelse(u.atena_no.isnull(), u.jumin_code, ibis.null("string"))
    df = (u.group_by(atena_no=person, lone=lone)
          .aggregate(jumin_code=u.jumin_code.arbitrary(), shimei=u.shimei.arbitrary(),
                     seinengappi=u.seinengappi.arbitrary(), seibetsu=u.seibetsu.arbitrary(),
                     genjusho=u.genjusho.arbitrary(), in_j=u.in_j.any(), in_h=(~u.in_j).any())
          .order_by("atena_no", "lone").limit(limit).to_pandas())
    df["found_in"] = ["・".join(k for k, on in (("住民基本台帳", a), ("本人確認情報", b)) if on)
                      for a, b in zip(df["in_j"], df["in_h"])]
    return df


def search(con, name=None, address=None, birth_date=None, sex=None, limit: int = 100) -> pd.DataFrame:
    """Current records matching the criteria in either file, masked; refused and logged when
    fewer than two meaningful facts are given."""
    ok, _ = meaningful(name, address, birth_date, sex)
    params = {"facts": ok, "sex_given": sex is not None}
    full_date = "birth_date" in ok and (isinstance(birth_date, dt.date) or parse_partial(str(birth_date))[1] not in ("Y", "M"))
    with guard.entry("search", "jumin+honnin", params=params) as g:
        check_two_of_four(name, address, birth_date, sex)
        df = _matches(engine.backend(con), ok, name, address, birth_date, sex, limit + 1)
        g.records = min(len(df), limit)
        g.persons = [a if a else f"住民票コード:{c}" for a, c in zip(df["atena_no"], df["jumin_code"])][:limit]
        g.flags = (["broad"] if g.records > broad_limit() else []) + enumeration_flags(g.operator, g.persons)
        if len(df) > limit:
            g.detail = f"more than {limit} matches: narrow the search"
            df = df.head(limit)
    return pd.DataFrame({
        "宛名番号": [mask("jumin", "atena_no", v)[:-4] + str(v)[-4:] if v else "" for v in df["atena_no"]],
        "氏名": [mask("jumin", "shimei", v) for v in df["shimei"]],
        # the full date only when it was one of the facts given; else the year (no enumeration of birthdays)
        "生年月日": df["seinengappi"] if full_date else [f"{d.year}年" if d is not None and not pd.isna(d) else ""
                                                      for d in df["seinengappi"]],
        "性別": df["seibetsu"].map({"1": "男", "2": "女"}),
        "住所": [mask("jumin", "genjusho", v) for v in df["genjusho"]],
        "記録": df["found_in"],
    })
