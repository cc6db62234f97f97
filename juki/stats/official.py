"""Official statistics: the 総務省 annual survey (balanced), the monthly 町丁字 table, and more.

「住民基本台帳に基づく人口、人口動態及び世帯数調査」: population and households on 1 January by
日本人住民 / 外国人住民 (and 複数国籍世帯) × 男女; 人口動態 over the year before -- 記載 (転入
国内/国外, 出生, その他) and 消除 (転出 国内/国外, 死亡, その他).  **Counting basis** (one for both,
following the registry standard's rule that the registry as it stands is what counts): the
population on 1 January is the registry as it stood at the end of that day
(:func:`juki.residency.residents`); a movement counts in the year its record took effect
(処理年月日, or a planned 転出's date).  Then, for consistent records,

    前年1月1日の人口 + 記載 − 消除 = 本年1月1日の人口   (per group × sex, exactly)

and :func:`balance` checks it and says which kinds of records break it (the data-quality review
names them: rules ``jumin.timeline.*``).
"""
from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from .. import codes
from .movements import KISAI, SHOJO, in_period, period_label, survey_period
from .population import GROUPS, HOUSEHOLD_TYPES, OFFICIAL, SEX, SEXES, THREE_BANDS, Protect, _long, area_labels
from .stattable import UNKNOWN, StatTable

TOTAL_GROUP = "総計"
SINGLE_AGES = [f"{a}歳" for a in range(100)] + ["100歳以上", UNKNOWN]
SIZES = ["1人", "2人", "3人", "4人", "5人", "6人以上"]
CHANGE = ["出生", "死亡", "転入", "転出", "市内転居(増)", "市内転居(減)", "その他(増)", "その他(減)"]
#: The 異動事由 of a 転入 and a 転出 (国内, 国外) and of those from or to 国外.
MOVE_IN, MOVE_OUT, ABROAD_JIYU = ("11", "12"), ("21", "22"), ("12", "22")
#: The monthly 町丁字 table's columns and how each enters 前月の人口 + 増 − 減 = 当月の人口 (世帯数: 0).
MONTHLY = {"当月の人口": -1, "世帯数": 0, "前月の人口": 1, **{c: (1 if c in ("出生", "転入") or c.endswith("(増)") else -1)
                                                         for c in CHANGE}}


# ---------------------------------------------------------------- the annual survey

def survey_population(a, year: int, protect: Protect = OFFICIAL) -> StatTable:
    """人口 on 1 January: 区分 (日本人住民/外国人住民) × 男女."""
    ref = dt.date(year, 1, 1)
    t = a.stock(ref)
    expr = t.group_by(grp=t.grp, sex=t.sex).aggregate(n=t.count())
    return _long("survey_population", f"人口（{ref}現在）", expr,
                 [("区分", GROUPS, "grp", None), ("性別", SEXES, "sex", SEX)], protect)


def survey_households(a, year: int, protect: Protect = OFFICIAL) -> StatTable:
    ref = dt.date(year, 1, 1)
    from .population import households
    st = households(a, ref, protect)
    st.name, st.title = "survey_households", f"世帯数（{ref}現在）"
    return st


def survey_movements(a, year: int, protect: Protect = OFFICIAL) -> list[StatTable]:
    from .movements import movements
    start, end = dt.date(year - 1, 1, 1), dt.date(year, 1, 1)
    out = movements(a, start, end, protect)
    for st in out:
        st.name = "survey_" + st.name
    return out


def survey_row_table(a, year: int) -> pd.DataFrame:
    """The survey's municipal table (人口、世帯数、人口動態), one row per 総計/日本人住民/外国人住民.

    Exact counts: this is what the city reports to the prefecture (the published tables of
    this report are the protected ones)."""
    start, end = dt.date(year - 1, 1, 1), dt.date(year, 1, 1)
    s = a.stock(end)
    pop = s.group_by(grp=s.grp, sex=s.sex).aggregate(n=s.count()).to_pandas()
    per_hh = s.group_by("household").aggregate(nf=(s.grp == GROUPS[1]).sum(), n=s.count())
    hh = per_hh.aggregate(total=per_hh.count(), with_jp=(per_hh.nf < per_hh.n).sum(),
                          with_foreign=(per_hh.nf > 0).sum()).to_pandas().iloc[0]
    e = a.events()
    f = e.filter(in_period(e, start, end) & e.cat.notnull())
    mv = f.group_by(cat=f.cat, grp=f.grp, jiyu=f.jiyu).aggregate(n=f.count()).to_pandas()
    rows = []
    for grp in [TOTAL_GROUP] + GROUPS:
        p = pop if grp == TOTAL_GROUP else pop[pop["grp"] == grp]
        m = mv if grp == TOTAL_GROUP else mv[mv["grp"] == grp]
        c = m.groupby("cat")["n"].sum().to_dict()

        def g(k, c=c):
            return int(c.get(k, 0))
        men, women = int(p[p["sex"] == "1"]["n"].sum()), int(p[p["sex"] == "2"]["n"].sum())
        total = men + women
        households = int(hh["total"] if grp == TOTAL_GROUP else      # households with a Japanese / foreign member
                         hh["with_jp"] if grp == GROUPS[0] else hh["with_foreign"])
        a_ = g("転入(国内)") + g("転入(国外)") + g("出生") + g("その他記載")
        b_ = g("転出(国内)") + g("転出(国外)") + g("死亡") + g("その他消除")
        change = a_ - b_
        natural = g("出生") - g("死亡")
        social = change - natural
        base = total - change

        def rate(x, base=base):
            return round(100 * x / base, 2) if base else None
        rows.append({"区分": grp, "人口 男": men, "人口 女": women, "人口 計": total, "世帯数": households,
                     "転入者数 国内": g("転入(国内)"), "転入者数 国外": g("転入(国外)"),
                     "転入者数 計": g("転入(国内)") + g("転入(国外)"), "出生者数": g("出生"),
                     "記載 その他": g("その他記載"), "記載 計(A)": a_,
                     "転出者数 国内": g("転出(国内)"), "転出者数 国外": g("転出(国外)"),
                     "転出者数 計": g("転出(国内)") + g("転出(国外)"), "死亡者数": g("死亡"),
                     "消除 その他": g("その他消除"), "消除 計(B)": b_, "増減数(A)-(B)": change, "増減率(%)": rate(change),
                     "自然増減数": natural, "自然増減率(%)": rate(natural), "社会増減数": social, "社会増減率(%)": rate(social)})
    return pd.DataFrame(rows).set_index("区分")


def survey_age(a, year: int, protect: Protect = OFFICIAL) -> StatTable:
    """年齢別人口 on 1 January: 5歳階級 (0–4 … 95–99, 100歳以上, 不詳) × 区分 × 男女."""
    from .population import population_age_sex
    st = population_age_sex(a, dt.date(year, 1, 1), protect)
    st.name, st.title = "survey_age", f"年齢別人口（{year}年1月1日現在）"
    return st


# ---------------------------------------------------------------- the balance

def balance(a, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table, breaks): 前年 + 記載 − 消除 vs 本年 per 区分 × 性別, and the persons (by kind of break)
    whose records do not add up.  Exact counts -- for the statistician and the review."""
    s0, s1 = a.stock(start), a.stock(end)
    e = a.events()
    f = e.filter(in_period(e, start, end))
    counted = f.filter(f.cat.notnull())
    sign = ibis.cases((counted.cat.isin(KISAI), 1), (counted.cat.isin(SHOJO), -1), else_=0)
    flows = counted.group_by(grp=counted.grp, sex=counted.sex).aggregate(
        inc=(sign == 1).sum(), dec=(sign == -1).sum()).to_pandas()
    p0 = s0.group_by(grp=s0.grp, sex=s0.sex).aggregate(n=s0.count()).to_pandas()
    p1 = s1.group_by(grp=s1.grp, sex=s1.sex).aggregate(n=s1.count()).to_pandas()
    rows = []
    for grp in GROUPS:
        for sex in ("1", "2"):
            def pick(df, col, grp=grp, sex=sex):
                v = df[(df["grp"] == grp) & (df["sex"] == sex)][col]
                return int(v.sum()) if len(v) else 0
            before, inc, dec, after = pick(p0, "n"), pick(flows, "inc"), pick(flows, "dec"), pick(p1, "n")
            rows.append({"区分": grp, "性別": SEX[sex], "前年1月1日の人口" if start.month == 1 and start.day == 1 else "期首の人口": before,
                         "増加(記載)": inc, "減少(消除)": dec, "期末の人口": after, "差(期首+増-減-期末)": before + inc - dec - after})
    table = pd.DataFrame(rows)
    # per person: the change of their (group, sex) stock against their counted rows -- in the
    # database (millions of persons); only the few persons who break it come back
    keys = ["person", "grp", "sex"]
    stock = (s0.select(*keys, s=ibis.literal(-1)).union(s1.select(*keys, s=ibis.literal(1)))
             .group_by(keys).aggregate(stock=ibis._.s.sum()))
    flow = counted.mutate(d=sign).group_by(keys).aggregate(flow=ibis._.d.sum())
    j = stock.outer_join(flow, keys)
    who = ibis.coalesce(j.person, j.person_right)
    broken = j.filter(j.stock.fill_null(0) != j.flow.fill_null(0)).select(person=who).distinct().to_pandas()
    return table, _break_kinds(e, sorted(broken["person"]))


def _break_kinds(e, persons: list) -> pd.DataFrame:
    """How each person's whole history breaks the balance (the first kind that applies)."""
    if not persons:
        return pd.DataFrame({"記録の種類": [], "人数": []})
    ev = e.filter(e.person.isin(persons)).order_by(["person", "seq"]).to_pandas()
    kinds = {}
    for _person, g in ev.groupby("person"):
        eff = g["eff_date"].tolist()
        if any(b < a for a, b in zip(eff, eff[1:])):
            k = "処理の前後が履歴番号と逆（遡った消除・遅れた処理）"
        elif ((g["cat"].isna()) & (g["resident_before"] != g["resident_after"])).any():
            k = "記載・消除によらない住民の増減（改製・再製、消除後の修正など）"
        elif ((g["cat"].isin(KISAI)) & g["resident_before"]).any() or ((g["cat"].isin(SHOJO)) & ~g["resident_before"]).any():
            k = "記録の状態と合わない記載・消除（二重の記載、取消し等）"
        elif ((g["resident_before"]) & ((g["grp"] != g["grp_before"]) | (g["sex"] != g["sex_before"]))).any():
            k = "修正による区分・性別の変更"
        else:
            k = "期間外の記録との組合せ"
        kinds[k] = kinds.get(k, 0) + 1
    return pd.DataFrame({"記録の種類": list(kinds), "人数": list(kinds.values())})


# ---------------------------------------------------------------- the monthly 町丁字 table

def monthly_towns(a, start: dt.date, end: dt.date, level: str = "town", protect: Protect = OFFICIAL) -> StatTable:
    """町丁字別人口・世帯数 on ``end`` and the change since ``start`` by 出生/死亡/転入/転出/市内転居/その他.

    Each 異動 that changes where a resident lives (or whether they live in the city) counts
    −1 where they were and +1 where they are now, so per area: 前月の人口 + 増 − 減 = 当月の人口."""
    mapping, ordered, label = area_labels(level)
    e = a.events()
    f = e.filter(in_period(e, start, end))
    moved = f.filter((f.resident_before != f.resident_after) |
                     (f.resident_before & (f.town_before.fill_null("") != f.town.fill_null(""))))
    both = moved.resident_before & moved.resident_after
    moved = moved.mutate(
        kind_in=ibis.cases((moved.jiyu == "13", "出生"), (moved.jiyu.isin(MOVE_IN), "転入"),
                           (both, "市内転居(増)"), else_="その他(増)"),
        kind_out=ibis.cases((moved.jiyu == "23", "死亡"), (moved.jiyu.isin(MOVE_OUT), "転出"),
                            (both, "市内転居(減)"), else_="その他(減)"))
    m_in = moved.filter(moved.resident_after)
    ins = m_in.group_by(town=m_in.town, kind=m_in.kind_in).aggregate(n=m_in.count())
    m_out = moved.filter(moved.resident_before)
    outs = m_out.group_by(town=m_out.town_before, kind=m_out.kind_out).aggregate(n=m_out.count())
    s0, s1 = a.stock(start), a.stock(end)
    p0 = s0.group_by(town=s0.town).aggregate(n=s0.count()).mutate(kind=ibis.literal("前月の人口"))
    p1 = s1.group_by(town=s1.town).aggregate(n=s1.count()).mutate(kind=ibis.literal("当月の人口"))
    per = s1.group_by("household").aggregate(town=s1.town.arbitrary())
    h1 = per.group_by(town=per.town).aggregate(n=per.count()).mutate(kind=ibis.literal("世帯数"))
    cols = list(MONTHLY)
    expr = ibis.union(p1.select("town", "kind", "n"), h1.select("town", "kind", "n"), p0.select("town", "kind", "n"),
                      ins.select("town", "kind", "n"), outs.select("town", "kind", "n"))
    st = _long(f"monthly_{level}", f"{label}別人口・世帯数と前月からの増減（{period_label(start, end)}）", expr,
               [(label, ordered, "town", mapping), ("項目", cols, "kind", None)], protect,
               note="市内転居は町丁字の間の移動（市全体では相殺）。その他は職権記載・消除、帰化、修正など。")
    st.no_total = (1,)
    return st


def monthly_check(st: StatTable) -> pd.DataFrame:
    """Per area: 前月 + 増 − 減 − 当月 (0 for consistent records); exact counts, for the statistician."""
    df = st.frame(published=False).iloc[:-1]
    diff = sum(sign * df[c] for c, sign in MONTHLY.items() if sign)
    return diff[diff != 0].rename("差").to_frame()


# ---------------------------------------------------------------- more of what cities publish

def single_ages(a, ref: dt.date, level: str = "choiki", protect: Protect = OFFICIAL) -> StatTable:
    """各歳別人口 (0–99歳, 100歳以上, 不詳) × area (計 included)."""
    t = a.stock(ref)
    mapping, ordered, label = area_labels(level)
    age = ibis.cases((t.age.isnull(), len(SINGLE_AGES) - 1), else_=ibis.least(t.age, 100))
    expr = t.group_by(town=t.town, age=age).aggregate(n=t.count())
    return _long(f"single_ages_{level}", f"{label}別・各歳別人口（{ref}現在）", expr,
                 [(label, ordered, "town", mapping), ("年齢", SINGLE_AGES, "age", lambda i: SINGLE_AGES[int(i)])], protect)


def _three_band(age):
    """The index into :data:`THREE_BANDS` of an age column (0–14, 15–64, 65+, 不詳)."""
    return ibis.cases((age.isnull(), 3), (age < 15, 0), (age < 65, 1), else_=2)


def three_bands(a, ref: dt.date, level: str = "choiki", protect: Protect = OFFICIAL) -> tuple[StatTable, pd.DataFrame]:
    """年齢3区分別人口 per area, and their shares (%, of residents whose age is known)."""
    t = a.stock(ref)
    mapping, ordered, label = area_labels(level)
    expr = t.group_by(town=t.town, b=_three_band(t.age)).aggregate(n=t.count())
    st = _long(f"three_bands_{level}", f"{label}別・年齢3区分別人口（{ref}現在）", expr,
               [(label, ordered, "town", mapping), ("年齢3区分", THREE_BANDS, "b", lambda i: THREE_BANDS[int(i)])], protect)
    return st, band_shares(st)


def band_shares(st: StatTable) -> pd.DataFrame:
    """The three bands' shares (%, of residents whose age is known); x in a row with any hidden
    cell: a share beside its published band count gives the row's total, and beside the total
    a hidden band (a 3,000-resident release: four hidden 町域 totals read off this way)."""
    vals = st.frame(published=True)
    known = st.counts[:, :3].sum(axis=1)
    whole = ~st.hidden.any(axis=1)
    pct = lambda i: np.round(100 * st.counts[:, i] / np.maximum(known, 1), 1)  # noqa: E731
    shares = pd.DataFrame({f"{c}の割合(%)": np.where((known > 0) & whole, pct(i), np.nan)
                           for i, c in enumerate(THREE_BANDS[:3])}, index=vals.index)
    return shares.astype(object).where(shares.notna(), "x")


def household_sizes(a, ref: dt.date, protect: Protect = OFFICIAL) -> StatTable:
    """世帯人員別世帯数, with 単独世帯 and 65歳以上の者のみの世帯."""
    t = a.stock(ref)
    per = t.group_by("household").aggregate(size=t.count(), old=(t.age >= 65).sum(), known=t.age.notnull().sum())
    size = ibis.least(per.size, 6)
    expr = per.group_by(size=size).aggregate(n=per.count(), old_only=((per.old == per.size)).sum())
    df = expr.to_pandas()
    rows = [{"世帯人員": SIZES[int(s) - 1], "区分": "世帯数", "n": int(n)} for s, n in zip(df["size"], df["n"])]
    rows += [{"世帯人員": SIZES[int(s) - 1], "区分": "うち65歳以上の者のみの世帯", "n": int(o)} for s, o in zip(df["size"], df["old_only"])]
    st = StatTable.from_long("household_sizes", f"世帯人員別世帯数（{ref}現在）", pd.DataFrame(rows),
                             [("世帯人員", SIZES), ("区分", ["世帯数", "うち65歳以上の者のみの世帯"])], unit="世帯数",
                             note="「1人」の世帯数が単独世帯。65歳以上の者のみの世帯は世帯数の内数。",
                             no_total=(1,), **protect.kw())
    st.sql = str(ibis.to_sql(expr))
    return st


def _muni_labels(codes_seen) -> tuple[list, dict]:
    """The rows of the municipality tables: every municipality of the code table but the city
    itself, in code order, then その他, 国外, 不詳 -- a fixed list.  (Listing the 20 largest in
    order of size told a reader that each listed row was at least 1 and at most the row above:
    an attack on a 3,000-resident release narrowed 14 hidden 1s and 2s that way.)  ``codes_seen``:
    the codes in the data, each mapped to its row."""
    m = codes.municipalities()
    fixed = [c for c in sorted(m.index) if m.loc[c, "weight"] > 0]
    name = {c: f"{m.loc[c, 'prefecture']}{m.loc[c, 'name']}" for c in fixed}
    labels = [name[c] for c in fixed] + ["その他", "国外", UNKNOWN]
    mapping = {c: name.get(c, "国外" if c == "国外" else "その他") for c in codes_seen}
    return labels, mapping


def moves_by_municipality(a, start: dt.date, end: dt.date, protect: Protect = OFFICIAL) -> list[StatTable]:
    """転入 by 前住所 municipality and 転出 by 転出先 (the code table's municipalities, その他, 国外,
    不詳) × 男女."""
    e = a.events()
    f = e.filter(in_period(e, start, end))
    out = []
    for name, title, jiyu, col in (("moves_in_from", "前住所地別転入者数", MOVE_IN, "from_municipality"),
                                   ("moves_out_to", "転出先別転出者数", MOVE_OUT, "to_municipality")):
        g = f.filter(f.jiyu.isin(jiyu))
        expr = g.group_by(m=g[col], sex=g.sex).aggregate(n=g.count())
        df = expr.to_pandas()
        labels, mapping = _muni_labels(df["m"].dropna().unique())
        out.append(_long(name, f"{title}（{period_label(start, end)}）", expr,
                         [("市区町村", labels, "m", mapping), ("性別", SEXES, "sex", SEX)], protect))
    return out


def foreign_detail(a, ref: dt.date, protect: Protect = OFFICIAL) -> StatTable:
    """外国人住民: 国籍・地域 × 在留資格 × 年齢3区分."""
    t = a.stock(ref)
    f = t.filter(t.grp == GROUPS[1])
    nat, sk = codes.names("kokuseki"), codes.names("zairyu_shikaku")
    expr = f.group_by(nat=f.nationality, s=f.shikaku.fill_null("--"), b=_three_band(f.age)).aggregate(n=f.count())
    labels_s = list(sk.values()) + ["（中長期在留者以外）"]
    return _long("foreign_detail", f"国籍・地域別、在留資格別、年齢3区分別外国人住民数（{ref}現在）", expr,
                 [("国籍・地域", list(nat.values()) + [UNKNOWN], "nat", nat),
                  ("在留資格", labels_s, "s", {**sk, "--": "（中長期在留者以外）"}),
                  ("年齢3区分", THREE_BANDS, "b", lambda i: THREE_BANDS[int(i)])], protect)


def all_survey(a, year: int, protect: Protect = OFFICIAL) -> list[StatTable]:
    return [survey_population(a, year, protect), survey_households(a, year, protect),
            *survey_movements(a, year, protect), survey_age(a, year, protect)]


__all__ = ["survey_period", "HOUSEHOLD_TYPES", "GROUPS"]
