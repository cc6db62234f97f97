"""The synthetic registry: persons with ten years and more of 異動 history, and the three files.

The city is built in four steps, each vectorised:

1. **people** -- living households (exactly ``n`` residents at ``as_of``), households that
   left or died out during the history window, spouses who died in a living household,
   young adults who split off from their parents' household;
2. **events** -- one row per change of a person's record: entry (改製 at the system
   migration for long-time residents, 出生, 国内転入, 国外転入等), 転居 of whole households,
   世帯分離, 世帯主変更 after the head's death, 個人番号 / 住民票コード changes, and removal
   (国内転出, 国外転出, 死亡, 職権消除);
3. **住民基本台帳ファイル** -- a full-row snapshot per event (key 宛名番号 + 履歴番号);
4. **本人確認情報ファイル** and **送付先情報ファイル** derived from those snapshots, so the files
   agree by construction.

Dates follow the law: 異動年月日 ≤ 届出年月日 ≤ 処理年月日, except a 転出 which is notified
before the planned move-out date; 届出 and 処理 fall on business days.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import businessdays, codes
from ..codes import atena, kojin_bango, municipality
from ..codes.kana import seion
from . import names as N
from .population import make_households

DAY = np.int64
EPOCH = dt.date(1970, 1, 1)
#: the history window needs ten years of individual numbers (issued from October 2015)
MIN_AS_OF = dt.date(2026, 1, 1)
MATSUDO = municipality.MATSUDO
PREF = "千葉県松戸市"
KANJI_DIGITS = "〇一二三四五六七八九"


def _d(x: dt.date) -> int:
    return (x - EPOCH).days



@dataclass
class Params:
    residents: int = 500_000
    seed: int = 1
    as_of: dt.date = dt.date(2026, 4, 1)
    years: int = 10                 # history window: from 1 January, ``years`` years back
    foreign_share: float = 0.04
    departure_rate: float = 0.036   # persons leaving per resident per year (転出 + 死亡)
    sofusaki_days: int = 60         # 送付先情報 kept for persons numbered in this many days


class Progress:
    """Calls ``callback(step, done, total)``; a no-op by default."""

    steps = ("people", "events", "jumin", "honnin", "sofusaki")

    def __init__(self, callback=None):
        self.callback = callback or (lambda *a: None)

    def __call__(self, step):
        self.callback(step, self.steps.index(step), len(self.steps))


# ----------------------------------------------------------------------------- people

def _unique_digits(rng, n, digits, taken=None):
    """n distinct random integers below 10**digits (not in ``taken``)."""
    out = np.unique(rng.integers(0, 10 ** digits, size=int(n * 1.01) + 16))
    if taken is not None:
        out = np.setdiff1d(out, taken)
    while len(out) < n:
        out = np.union1d(out, rng.integers(0, 10 ** digits, size=n))
    rng.shuffle(out)
    return out[:n]


def _addresses(rng, n, towns):
    """n random addresses in Matsudo: (town index, address text, 方書)."""
    w = towns["weight"].to_numpy()
    ti = rng.choice(len(towns), size=n, p=w / w.sum())
    style = towns["style"].to_numpy()[ti]
    name = towns["name"].to_numpy()[ti].astype(object)
    ban = rng.integers(1, 30, n)
    go = rng.integers(1, 25, n)
    banchi = rng.integers(1, 3000, n)
    eda = rng.integers(0, 20, n)
    addr = np.where(
        style == "住居表示",
        PREF + name + pd.Series(ban).astype(str).to_numpy(object) + "番" + pd.Series(go).astype(str).to_numpy(object) + "号",
        PREF + name + pd.Series(banchi).astype(str).to_numpy(object) + "番地"
        + np.where(eda > 0, "の" + pd.Series(eda).astype(str).to_numpy(object), ""),
    )
    apt = rng.random(n) < 0.42
    building = np.array(["メゾン", "ハイツ", "コーポ", "レジデンス", "パークハイム", "グランドール"], dtype=object)
    room = rng.integers(1, 8, n) * 100 + rng.integers(1, 12, n)
    kata = np.where(apt, building[rng.integers(0, len(building), n)]
                    + towns["choiki"].to_numpy()[ti].astype(object)
                    + pd.Series(room).astype(str).to_numpy(object) + "号室", None)
    return ti, addr, kata


def _outside_addresses(rng, n):
    """Addresses in other municipalities: (municipality code, address text)."""
    m = codes.municipalities()
    m = m[m.index != MATSUDO]
    w = m["weight"].to_numpy(float)
    i = rng.choice(len(m), size=n, p=w / w.sum())
    chome = np.array(list("一二三四五"), dtype=object)[rng.integers(0, 5, n)]
    ban = pd.Series(rng.integers(1, 30, n)).astype(str).to_numpy(object)
    go = pd.Series(rng.integers(1, 20, n)).astype(str).to_numpy(object)
    town = np.array(["本町", "中央", "旭町", "緑町", "栄町", "南町", "東町"], dtype=object)[rng.integers(0, 7, n)]
    addr = (m["prefecture"].to_numpy(object)[i] + m["name"].to_numpy(object)[i] + town + chome + "丁目"
            + ban + "番" + go + "号")
    return m.index.to_numpy(object)[i], addr


def _abroad(rng, n):
    places = np.array(["中華人民共和国", "ベトナム社会主義共和国", "フィリピン共和国", "大韓民国", "ネパール",
                       "アメリカ合衆国", "タイ王国", "インド"], dtype=object)
    return places[rng.integers(0, len(places), n)]


def build_people(rng, p: Params):
    """All persons of the history window, one row each, with their household facts."""
    A = _d(p.as_of)
    W = _d(dt.date(p.as_of.year - p.years, 1, 1))
    M0 = _d(businessdays.on_or_after(dt.date(p.as_of.year - p.years, 1, 4)))  # system migration (改製)
    towns = codes.towns()

    # --- living households
    live = make_households(rng, p.residents).persons
    live["status"] = "living"
    H_live = int(live["hh"].max()) + 1
    # --- households that left (転出) or died out during the window
    n_gone = max(1, int(round(p.residents * p.departure_rate * (A - W) / 365.25)))
    gone = make_households(rng, n_gone).persons
    gone["hh"] += H_live
    gone["status"] = "gone"
    H = H_live + int(gone["hh"].max()) + 1
    P = pd.concat([live, gone], ignore_index=True)
    hh = P["hh"].to_numpy()
    is_head = P["zokugara"].to_numpy() == "01"
    size = np.bincount(hh, minlength=H)
    head_idx = np.full(H, -1)
    head_idx[hh[is_head]] = np.nonzero(is_head)[0]
    head_age = P["age"].to_numpy()[head_idx]
    hh_gone = np.arange(H) >= H_live

    # --- exit dates of departed households (ages are at exit)
    exit_day = np.full(H, -1, dtype=np.int64)
    exit_day[hh_gone] = rng.integers(M0 + 60, A + 1, hh_gone.sum())
    # some 転出 notified before as_of with a planned date still ahead (counted as residents)
    late = hh_gone & (exit_day > A - 20) & (rng.random(H) < 0.2)
    exit_day[late] = A + rng.integers(1, 15, late.sum())
    ref_day = np.where(hh_gone, np.minimum(exit_day, A), A)
    birth = ref_day[hh] - np.floor(P["age"].to_numpy() * 365.25).astype(np.int64)

    # --- foreign households
    young_single = (size == 1) & (head_age < 40)
    w = np.where(young_single, 3.0, np.where(head_age < 45, 1.2, 0.25)) * np.where(hh_gone, 1.8, 1.0)
    scale = p.foreign_share * len(live) / (w[:H_live] * size[:H_live]).sum()
    foreign_hh = rng.random(H) < np.clip(w * scale, 0, 1)
    kok = codes.frame("kokuseki")
    kw = kok["weight"].astype(float).to_numpy()
    hh_nat = kok["code"].to_numpy()[rng.choice(len(kok), size=H, p=kw / kw.sum())]

    # --- entry of each household
    pre_p = np.clip((head_age - 22) / 35, 0.15, 0.9) * np.where(foreign_hh, 0.4, 0.8)
    pre = rng.random(H) < np.where(hh_gone, 0.5, pre_p)
    adult_since = ref_day - ((head_age - 18) * 365.25).astype(np.int64)
    lo = np.maximum(adult_since, W - 40 * 365)
    hh_jumin_pre = lo + (rng.random(H) * np.maximum(W - 1 - lo, 1)).astype(np.int64)
    hh_jumin_pre = np.minimum(hh_jumin_pre, W - 1)
    hi_entry = np.where(hh_gone, exit_day - 30, A - 1)
    entry_new = W + 1 + (rng.random(H) * np.maximum(hi_entry - W - 1, 1)).astype(np.int64)
    hh_entry = np.where(pre, M0, entry_new)                       # first row date
    hh_jumin = np.where(pre, hh_jumin_pre, entry_new)             # 住民となった日 of the household
    hh_jusho = np.where(pre, hh_jumin_pre + (rng.random(H) * (W - 1 - hh_jumin_pre)).astype(np.int64),
                        entry_new)
    from_abroad = ~pre & (rng.random(H) < np.where(foreign_hh, 0.6, 0.04))

    # --- 転居 within the city (whole household)
    move_lo = np.maximum(hh_entry, M0) + 30
    move_hi = np.where(hh_gone, exit_day - 30, A - 1)
    moves = (rng.random(H) < 0.13) & (move_hi > move_lo + 1)
    move_day = np.where(moves, move_lo + (rng.random(H) * (move_hi - move_lo)).astype(np.int64), np.iinfo(np.int64).max)

    # --- addresses: current and (for movers) former
    ti, addr, kata = _addresses(rng, H, towns)
    ti_old, addr_old, kata_old = _addresses(rng, H, towns)
    out_code, out_addr = _outside_addresses(rng, H)
    abroad = _abroad(rng, H)

    # --- members: nationality, dates
    P["foreign"] = foreign_hh[hh]
    P["birth"] = birth
    P["jumin_date"] = np.maximum(hh_jumin[hh], birth)
    P["jusho_date"] = np.maximum(hh_jusho[hh], birth)
    born_here = birth > hh_jumin[hh]
    P["born_here"] = born_here

    # --- deceased spouses of elderly singles (a removed person in a living household)
    cand = np.nonzero((~hh_gone) & (size == 1) & (head_age >= 70))[0]
    widowed = cand[rng.random(len(cand)) < 0.35]
    widowed = widowed[pre[widowed] | (hh_entry[widowed] < A - 400)]
    surv = head_idx[widowed]
    surv_sex = P["sex"].to_numpy()[surv]
    d_lo = np.maximum(hh_entry[widowed], M0) + 10
    death = d_lo + (rng.random(len(widowed)) * np.maximum(A - 20 - d_lo, 1)).astype(np.int64)
    dec_age = np.clip(head_age[widowed] + np.where(surv_sex == "2", 2, -2) + rng.normal(0, 2, len(widowed)), 60, 104)
    dec_head = surv_sex == "2"          # a deceased husband was the head
    dec = pd.DataFrame({
        "hh": widowed, "role_no": 9, "age": dec_age,
        "sex": np.where(surv_sex == "2", "1", "2"),
        "zokugara": np.where(dec_head, "01", "03"), "status": "died",
        "foreign": foreign_hh[widowed],
        "birth": death - (dec_age * 365.25).astype(np.int64),
        "jumin_date": hh_jumin[widowed], "jusho_date": hh_jusho[widowed], "born_here": False,
    })
    dec["jumin_date"] = np.maximum(dec["jumin_date"], dec["birth"])
    dec["jusho_date"] = np.maximum(dec["jusho_date"], dec["birth"])
    dec_pid0 = len(P)
    P = pd.concat([P, dec], ignore_index=True)
    n_all = len(P)
    status = P["status"].to_numpy()
    hh = P["hh"].to_numpy()

    # person-level "alternative household state before a date" (split-offs, widows)
    alt_until = np.full(n_all, np.iinfo(np.int64).min)
    alt_hh = np.full(n_all, -1)
    alt_zok = np.full(n_all, "", dtype=object)
    alt_head = np.full(n_all, -1)
    exit_of = np.full(n_all, -1, dtype=np.int64)
    exit_of[status == "gone"] = exit_day[hh[status == "gone"]]
    dec_pids = np.arange(dec_pid0, n_all)
    exit_of[dec_pids] = death
    head_of = head_idx[hh].copy()
    head_of[dec_pids] = np.where(dec_head, dec_pids, surv)
    # the widow was 妻 until the 世帯主変更 a few days after the husband's death
    change_43 = np.minimum(death + rng.integers(1, 14, len(widowed)), A)
    s_f = surv[dec_head]
    alt_until[s_f] = change_43[dec_head]
    alt_hh[s_f] = widowed[dec_head]
    alt_zok[s_f] = "03"
    alt_head[s_f] = dec_pids[dec_head]

    # --- 世帯分離: young single residents who were children of an older household
    ages = P["age"].to_numpy()
    fam = np.nonzero((~hh_gone) & pre & (size >= 3) & ~foreign_hh & ~moves)[0]
    fam = fam[np.argsort(head_age[fam], kind="stable")]
    singles = np.nonzero((status == "living") & (size[hh] == 1) & (ages >= 20) & (ages < 36)
                         & ~P["foreign"].to_numpy() & pre[hh])[0]
    singles = singles[rng.random(len(singles)) < 0.3]
    want = ages[singles] + rng.uniform(24, 34, len(singles))
    pos = np.clip(np.searchsorted(head_age[fam], want), 0, len(fam) - 1) if len(fam) else np.zeros(0, int)
    if len(fam):
        parent_hh = fam[pos]
        ok = np.abs(head_age[parent_hh] - want) < 6
        singles, parent_hh = singles[ok], parent_hh[ok]
        split_lo = np.maximum(M0 + 30, birth[singles] + 18 * 365)
        split = split_lo + (rng.random(len(singles)) * np.maximum(A - 1 - split_lo, 1)).astype(np.int64)
        good = split < A
        singles, parent_hh, split = singles[good], parent_hh[good], split[good]
        alt_until[singles] = split
        alt_hh[singles] = parent_hh
        alt_zok[singles] = "06"
        alt_head[singles] = head_idx[parent_hh]
        P.loc[singles, "jumin_date"] = np.maximum(hh_jumin[parent_hh], birth[singles])
        P.loc[singles, "jusho_date"] = split
    else:  # pragma: no cover - tiny cities
        split = np.zeros(0, dtype=np.int64)
        parent_hh = np.zeros(0, dtype=int)

    return dict(
        P=P, A=A, W=W, M0=M0, H=H, H_live=H_live, hh_gone=hh_gone, pre=pre, hh_entry=hh_entry,
        hh_jumin=hh_jumin, from_abroad=from_abroad, exit_day=exit_day, move_day=move_day,
        ti=ti, addr=addr, kata=kata, ti_old=ti_old, addr_old=addr_old, kata_old=kata_old,
        out_code=out_code, out_addr=out_addr, abroad=abroad, hh_nat=hh_nat, foreign_hh=foreign_hh,
        head_of=head_of, alt_until=alt_until, alt_hh=alt_hh, alt_zok=alt_zok, alt_head=alt_head,
        exit_of=exit_of, dec_pids=dec_pids, dec_head=dec_head, widow_f=s_f,
        change_43=change_43[dec_head], split_pids=singles, split_day=split, head_idx=head_idx,
    )


# ----------------------------------------------------------------------------- events

def build_events(rng, w):
    """One row per change: pid, ido (異動年月日), jiyu (異動事由)."""
    P, A, M0 = w["P"], w["A"], w["M0"]
    hh = P["hh"].to_numpy()
    birth = P["birth"].to_numpy()
    status = P["status"].to_numpy()
    n = len(P)
    pid = np.arange(n)
    pre = w["pre"][hh]
    entry = w["hh_entry"][hh]
    ev = []

    # entry: 改製 for those present at the migration, 出生 / 転入 for the others
    first = np.where(w["alt_until"] > np.iinfo(np.int64).min, M0, entry)  # split-offs were present at M0
    born_after = birth > np.maximum(first, w["hh_jumin"][hh])
    born_after &= ~np.isin(pid, w["split_pids"])
    is_migr = (pre | np.isin(pid, w["split_pids"])) & ~born_after
    e_day = np.where(born_after, birth, np.where(is_migr, M0, entry))
    e_jiyu = np.where(born_after, "13", np.where(is_migr, "17",
                                                 np.where(w["from_abroad"][hh], "12", "11")))
    ev.append(pd.DataFrame({"pid": pid, "ido": e_day, "jiyu": e_jiyu, "ord": 0}))

    # 転居 of whole households: members present at the move date
    mv = w["move_day"][hh]
    m = (mv < np.iinfo(np.int64).max) & (e_day < mv)
    m &= np.where(w["exit_of"] >= 0, mv < w["exit_of"], True)
    ev.append(pd.DataFrame({"pid": pid[m], "ido": mv[m], "jiyu": "31", "ord": 1}))

    # 世帯分離 and 世帯主変更
    ev.append(pd.DataFrame({"pid": w["split_pids"], "ido": w["split_day"], "jiyu": "40", "ord": 2}))
    ev.append(pd.DataFrame({"pid": w["widow_f"], "ido": w["change_43"], "jiyu": "43", "ord": 2}))

    # 個人番号 / 住民票コード changes for a few living persons
    living = np.nonzero(status == "living")[0]
    lo = np.maximum(e_day[living], M0) + 30
    ok = lo < A - 1
    cand, lo = living[ok], lo[ok]
    ch35 = rng.random(len(cand)) < 0.002
    ch38 = rng.random(len(cand)) < 0.001
    d = lo + (rng.random(len(cand)) * (A - 1 - lo)).astype(np.int64)
    d2 = lo + (rng.random(len(cand)) * (A - 1 - lo)).astype(np.int64)
    ev.append(pd.DataFrame({"pid": cand[ch35], "ido": d[ch35], "jiyu": "35", "ord": 3}))
    ev.append(pd.DataFrame({"pid": cand[ch38], "ido": d2[ch38], "jiyu": "38", "ord": 4}))

    # removal
    gone = np.nonzero(w["exit_of"] >= 0)[0]
    x = w["exit_of"][gone]
    foreign = P["foreign"].to_numpy()[gone]
    single_old = (np.bincount(hh, minlength=w["H"])[hh[gone]] == 1) & (P["age"].to_numpy()[gone] >= 70)
    r = rng.random(len(gone))
    jiyu = np.where(status[gone] == "died", "23",
                    np.where(single_old & (r < 0.7), "23",
                             np.where(r > 0.99, "26",
                                      np.where(rng.random(len(gone)) < np.where(foreign, 0.45, 0.04), "22", "21"))))
    # members of one household leave together: take the head's reason for 転出
    hh_reason = pd.Series(jiyu, index=hh[gone]).groupby(level=0).first()
    move_out = np.isin(jiyu, ["21", "22"])
    jiyu = np.where(move_out & (status[gone] == "gone"), hh_reason.reindex(hh[gone]).to_numpy(), jiyu)
    jiyu = np.where(np.isin(jiyu, ["23", "26"]) & (x > A), "21", jiyu)  # only 転出 can be planned ahead
    ev.append(pd.DataFrame({"pid": gone, "ido": x, "jiyu": jiyu, "ord": 9}))

    E = pd.concat(ev, ignore_index=True)
    E = E[E["ido"] >= e_day[E["pid"].to_numpy()]]  # nothing before a person's first row
    E = E.sort_values(["pid", "ido", "ord"], kind="stable").reset_index(drop=True)
    return E, e_day


# ----------------------------------------------------------------------------- 住民基本台帳

def _random_strings(rng, n, alphabet: str, length: int) -> np.ndarray:
    """n random strings of ``length`` characters from an ASCII ``alphabet`` (vectorised)."""
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    codes_ = table[rng.integers(0, len(table), (n, length))]
    return np.ascontiguousarray(codes_).view(f"S{length}").ravel().astype(str).astype(object)


def _base36(v, width: int) -> np.ndarray:
    table = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
    digits = (np.asarray(v, dtype=np.int64)[:, None] // 36 ** np.arange(width - 1, -1, -1)) % 36
    return np.ascontiguousarray(table[digits]).view(f"S{width}").ravel().astype(str).astype(object)


def _pad(v, width):
    return pd.Series(v).astype(str).str.zfill(width).to_numpy(object)


def build_identities(rng, w, E, p: Params):
    """Names, numbers and foreign-resident facts per person."""
    P = w["P"]
    n = len(P)
    hh = P["hh"].to_numpy()
    foreign = P["foreign"].to_numpy()
    sex = P["sex"].to_numpy()

    # names: Japanese households share a surname; split-offs carry their parents'
    sur_k, sur_r = N.japanese_surnames(rng, w["H"])
    fam_hh = hh.copy()
    fam_hh[w["split_pids"]] = w["alt_hh"][w["split_pids"]]
    giv_k, giv_r = N.given_names(rng, sex)
    name = sur_k[fam_hh] + "　" + giv_k
    kana = sur_r[fam_hh] + "　" + giv_r
    nat = w["hh_nat"][hh]
    f = np.nonzero(foreign)[0]
    fn, fk = N.foreign_names(rng, nat[f])
    name[f] = fn
    kana[f] = fk

    # numbers: 宛名番号 in order of first registration, 世帯番号 by household
    first = E.groupby("pid")["ido"].min().reindex(range(n)).to_numpy()
    order = np.lexsort((np.arange(n), first))
    serial = np.empty(n, dtype=np.int64)
    serial[order] = 100_000_001 + np.arange(n)
    atena_no = _pad(serial * 10 + atena.check_digits_array(serial), 10)
    H = w["H"]
    hh_first = pd.Series(first).groupby(hh).min().reindex(range(H)).fillna(0).to_numpy()
    hs = np.empty(H, dtype=np.int64)
    hs[np.lexsort((np.arange(H), hh_first))] = 800_000_001 + np.arange(H)
    w["setai_no"] = _pad(hs * 10 + atena.check_digits_array(hs), 10)

    changed35 = E.loc[E["jiyu"] == "35", ["pid", "ido"]]
    changed38 = E.loc[E["jiyu"] == "38", ["pid", "ido"]]
    bases = _unique_digits(rng, n + len(changed35), 11)
    digits = (bases[:, None] // 10 ** np.arange(10, -1, -1)) % 10
    kb = _pad(bases * 10 + kojin_bango.check_digits_array(digits), 12)
    jc = _pad(_unique_digits(rng, n + len(changed38), 11), 11)

    ident = pd.DataFrame({"atena_no": atena_no, "shimei": name, "kana": kana, "nat": nat})
    ident["kb_old"] = kb[:n]
    ident["kb_new"] = None
    ident["kb_change"] = np.iinfo(np.int64).max
    ident.loc[changed35["pid"].to_numpy(), "kb_new"] = kb[n:]
    ident.loc[changed35["pid"].to_numpy(), "kb_change"] = changed35["ido"].to_numpy()
    ident["jc_old"] = jc[:n]
    ident["jc_new"] = None
    ident["jc_change"] = np.iinfo(np.int64).max
    ident.loc[changed38["pid"].to_numpy(), "jc_new"] = jc[n:]
    ident.loc[changed38["pid"].to_numpy(), "jc_change"] = changed38["ido"].to_numpy()

    # foreign residents: 第30条の45 区分 and its items
    A = w["A"]
    kubun = np.full(n, None, dtype=object)
    shikaku = np.full(n, None, dtype=object)
    kikan = np.full(n, None, dtype=object)
    manryo = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    card = np.full(n, None, dtype=object)
    korean = np.isin(nat, ["410", "408"])
    r = rng.random(n)
    age = P["age"].to_numpy()
    k = np.where(korean & (r < 0.55) & (age > 15), "2",
                 np.where(r > 0.997, "4", np.where(r > 0.996, "3", "1")))
    newborn = (A - P["birth"].to_numpy()) < 60
    k = np.where(newborn, "5", k)
    kubun[foreign] = k[foreign]
    sk = codes.frame("zairyu_shikaku")
    adult_mix = {"27": 30, "12": 15, "23": 9, "20": 5, "19": 3, "21": 2, "25": 6, "17": 8, "28": 6, "30": 6,
                 "29": 2, "26": 3, "07": 1, "16": 2, "05": 1, "11": 1}
    codes_, wts = np.array(list(adult_mix)), np.array(list(adult_mix.values()), float)
    hh_sk = codes_[rng.choice(len(codes_), size=H, p=wts / wts.sum())]
    s = hh_sk[hh]
    s = np.where((age < 18) & ~np.isin(s, ["27", "28", "30"]), "25", s)
    c1 = foreign & (kubun == "1")
    shikaku[c1] = s[c1]
    periods = dict(zip(sk["code"], sk["periods"].str.split(";")))
    pick = rng.random(n)
    fi = np.nonzero(foreign)[0]
    kikan_all = np.full(n, None, dtype=object)
    kikan_all[fi] = [periods[c][int(x * len(periods[c]))] for c, x in zip(s[fi], pick[fi])]
    kikan[c1] = kikan_all[c1]
    c34 = foreign & np.isin(kubun, ["3", "4"])
    kikan[c34] = "6月"
    span = np.zeros(n, dtype=np.int64)
    span[fi] = [_months(x) for x in kikan_all[fi]]
    span = np.where(c34, 6, span)
    need_m = (c1 & ~np.isin(shikaku, ["06", "27"])) | c34
    manryo = np.where(need_m, A + 1 + (rng.random(n) * np.maximum(span * 30, 30)).astype(np.int64),
                      np.iinfo(np.int64).min)
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
    li = rng.integers(0, len(letters), (n, 4))
    card_all = (letters[li[:, 0]].astype(object) + letters[li[:, 1]] + _pad(rng.integers(0, 10 ** 8, n), 8)
                + letters[li[:, 2]] + letters[li[:, 3]])
    cc = foreign & np.isin(kubun, ["1", "2"])
    card[cc] = card_all[cc]
    ident["kubun"], ident["shikaku"], ident["kikan"], ident["manryo"], ident["zcard"] = kubun, shikaku, kikan, manryo, card
    tsusho = foreign & (kubun == "2") & (rng.random(n) < 0.3)
    tk, _ = N.japanese_surnames(rng, n)
    ident["tsusho"] = np.where(tsusho, "通称 " + tk + "　" + giv_k + " (記載)", None)
    return ident


def _months(period: str) -> int:
    """'5年' -> 60, '4年3月' -> 51, '6月' -> 6, '無期限' -> 0.

    >>> [_months(x) for x in ('5年', '4年3月', '6月', '無期限')]
    [60, 51, 6, 0]
    """
    if period == "無期限":
        return 0
    years, _, rest = period.partition("年") if "年" in period else ("0", "", period)
    return int(years) * 12 + (int(rest[:-1]) if rest.endswith("月") else 0)


def _staff(rng):
    """Staff numbers per branch office (for 職員番号 / 操作者ID)."""
    br = codes.branches()
    staff = {}
    base = 1_000_001
    for b in br.itertuples():
        k = int(b.terminals) * 4
        staff[b.name] = np.array([f"{base + i:07d}" for i in range(k)], dtype=object)
        base += k + 37
    return staff


def build_jumin(rng, w, E, ident, p: Params):
    """住民基本台帳ファイル: a full snapshot per event."""
    P = w["P"]
    A = w["A"]
    pid = E["pid"].to_numpy()
    ido = E["ido"].to_numpy()
    jiyu = E["jiyu"].to_numpy()
    m = len(E)
    hh_p = P["hh"].to_numpy()
    birth = P["birth"].to_numpy()[pid]

    # household state at the row's date
    alt = ido < w["alt_until"][pid]
    hh_row = np.where(alt, w["alt_hh"][pid], hh_p[pid])
    zok = np.where(alt, w["alt_zok"][pid], P["zokugara"].to_numpy()[pid])
    head = np.where(alt, w["alt_head"][pid], w["head_of"][pid])
    old_addr = ido < w["move_day"][hh_row]
    ti = np.where(old_addr, w["ti_old"][hh_row], w["ti"][hh_row])
    addr = np.where(old_addr, w["addr_old"][hh_row], w["addr"][hh_row])
    kata = np.where(old_addr, w["kata_old"][hh_row], w["kata"][hh_row])
    towns = codes.towns()

    shimei = ident["shimei"].to_numpy()
    kb = np.where(ido >= ident["kb_change"].to_numpy()[pid], ident["kb_new"].to_numpy()[pid],
                  ident["kb_old"].to_numpy()[pid])
    jc = np.where(ido >= ident["jc_change"].to_numpy()[pid], ident["jc_new"].to_numpy()[pid],
                  ident["jc_old"].to_numpy()[pid])
    foreign = P["foreign"].to_numpy()[pid]

    jumin_date = P["jumin_date"].to_numpy()[pid]
    jusho_date = np.where(ido >= w["move_day"][hh_row], w["move_day"][hh_row], P["jusho_date"].to_numpy()[pid])
    jusho_date = np.maximum(jusho_date, jumin_date)
    split = np.isin(pid, w["split_pids"]) & ~alt
    jusho_date = np.where(split, P["jusho_date"].to_numpy()[pid], jusho_date)

    # 前住所: where the person lived before this municipality / before the 転居
    entry_kind = pd.Series(jiyu).where(E["ord"].to_numpy() == 0).groupby(pid).transform("first").to_numpy()
    zen = np.where(entry_kind == "11", w["out_addr"][hh_p[pid]],
                   np.where(entry_kind == "12", w["abroad"][hh_p[pid]], None))
    moved = ido >= w["move_day"][hh_row]
    zen = np.where(moved, w["addr_old"][hh_row], zen)

    kubun_ = np.isin(jiyu, ["21", "22", "23", "26"])
    ido_kubun = np.where(kubun_, "2", np.where(np.isin(jiyu, ["11", "12", "13", "17"]), "1", "3"))
    shojo = np.where(kubun_, ido, np.iinfo(np.int64).min)

    # 届出 and 処理 on business days
    bd = businessdays.business_days(dt.date(1970, 1, 1) + dt.timedelta(days=int(w["W"]) - 30),
                                    dt.date(1970, 1, 1) + dt.timedelta(days=int(A) + 60)).astype("int64")

    def on_or_after(x):
        return bd[np.clip(np.searchsorted(bd, x), 0, len(bd) - 1)]

    lag = rng.integers(0, 14, m)
    shokken = np.isin(jiyu, ["17", "26", "43"])
    todoke = np.where(shokken, np.iinfo(np.int64).min, on_or_after(ido + lag))
    # 転出: notified before the (planned) move-out date, never after as_of
    out = np.isin(jiyu, ["21", "22"])
    before = np.maximum(on_or_after(ido - rng.integers(0, 14, m)), jusho_date)
    todoke = np.where(out, np.minimum(before, ido), todoke)
    todoke = np.where(out & (todoke > A), bd[np.searchsorted(bd, A, side="right") - 1], todoke)
    todoke = np.where(todoke > A, bd[np.searchsorted(bd, A, side="right") - 1], todoke)
    todoke = np.where(shokken, np.iinfo(np.int64).min, np.maximum(todoke, np.where(out, todoke, ido)))
    shori = np.where(shokken, on_or_after(ido), todoke)
    shori = np.where(shori > A, bd[np.searchsorted(bd, A, side="right") - 1], shori)
    # a 職権 row processed after as_of cannot exist; keep it on the last business day
    shori = np.maximum(shori, np.where(shokken, ido, shori))
    tenshutsu = out
    kakutei_day = ido + rng.integers(3, 20, m)
    kakutei = tenshutsu & (jiyu == "21") & (kakutei_day <= A)
    out_code, out_addr = _outside_addresses(rng, m)
    yotei = np.where(jiyu == "21", out_addr, np.where(jiyu == "22", _abroad(rng, m), None))

    # processing: branch office of the town (or the main office), terminal and staff
    branch_of_town = towns["branch"].to_numpy()[ti]
    branch = np.where(rng.random(m) < 0.55, "本庁", branch_of_town)
    terms = codes.terminals()
    staff = _staff(rng)
    tanmatsu = np.empty(m, dtype=object)
    shokuin = np.empty(m, dtype=object)
    for b in np.unique(branch):
        sel = branch == b
        t_b = terms.loc[terms["branch"] == b, "code"].to_numpy()
        tanmatsu[sel] = t_b[rng.integers(0, len(t_b), sel.sum())]
        s_b = staff[b]
        shokuin[sel] = s_b[rng.integers(0, len(s_b), sel.sum())]
    secs = rng.integers(8 * 3600 + 1800, 17 * 3600 + 900, m)

    # rows in order; 履歴番号 per person
    rireki = pd.Series(pid).groupby(pid).cumcount().to_numpy() + 1
    last = np.r_[pid[1:] != pid[:-1], True]

    # business facts at the row's date
    age_days = shori - birth
    age_y = age_days // 365.25
    senkyo = np.where(~foreign & (age_y >= 18) & (shori - jusho_date >= 90), "1", "0")
    koki = np.where(age_y >= 75, "1", "0")
    kaigo = np.where(age_y >= 65, "1", "0")
    nenkin = np.where((age_y >= 20) & (age_y < 60) & (rng.random(m) < 0.25), "1", "0")
    kokuho = np.where((age_y < 75) & (rng.random(m) < 0.22), "1", "0")
    jido = np.where((zok == "01") & (age_y < 55) & (age_y > 22) & (rng.random(m) < 0.3), "1", "0")

    # cards: 個人番号カード on the current row of ~77% of residents aged 1+; none on removals
    card_p = np.where(age_y < 1, 0.1, 0.77)
    has_card = last & ~kubun_ & (rng.random(m) < card_p)
    card_jokyo = np.where(has_card, "1", np.where(last & kubun_ & (rng.random(m) < 0.5), "2", "0"))
    juki_card = np.where((age_y > 30) & (rng.random(m) < 0.05), "2", "0")
    alnum = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
    idx = np.nonzero(has_card)[0]
    card_no = np.full(m, None, dtype=object)
    card_no[idx] = _random_strings(rng, len(idx), "".join(alnum), 12)
    serial = np.full(m, None, dtype=object)
    serial[idx] = _random_strings(rng, len(idx), "0123456789ABCDEF", 16)
    pin_hash = np.full(m, None, dtype=object)
    pepper = pin_pepper(p.seed)
    pins = rng.integers(0, 10000, len(idx))
    salts = rng.bytes(16 * len(idx))
    pin_hash[idx] = [hash_pin(f"{pin:04d}", salts[16 * i:16 * i + 16], pepper) for i, pin in enumerate(pins)]

    shori_id = _base36(rng.integers(0, 36 ** 6, m), 6)
    shori_id = pd.Series(shori.astype("datetime64[D]").astype(str)).str.replace("-", "").to_numpy(object) + "00" + shori_id

    nat = ident["nat"].to_numpy()[pid]
    is_f = foreign
    honseki_pref = np.array(["千葉県松戸市", "東京都葛飾区", "茨城県水戸市", "福島県郡山市", "新潟県長岡市",
                             "宮城県石巻市", "長野県松本市", "千葉県銚子市"], dtype=object)
    hp = honseki_pref[hh_p[pid] % len(honseki_pref)]
    honseki = np.where(is_f, None, hp + pd.Series((hh_p[pid] % 2000) + 1).astype(str).to_numpy(object) + "番地")
    hittou = np.where(is_f, None, shimei[np.where(zok == "06", head, pid)])
    hittou = np.where(~is_f & np.isin(zok, ["01", "02", "03", "04", "05", "06"]), shimei[head], hittou)

    manryo = ident["manryo"].to_numpy()[pid]
    df = dict({
        "atena_no": ident["atena_no"].to_numpy()[pid],
        "setai_no": w["setai_no"][hh_row],
        "kojin_bango": kb,
        "jumin_code": jc,
        "shimei": shimei[pid],
        "seinengappi": birth,
        "seibetsu": P["sex"].to_numpy()[pid],
        "genjusho": addr,
        "katagaki": kata,
        "zokugara": zok,
        "setainushi_mei": shimei[head],
        "honseki": honseki,
        "hittousha": hittou,
        "zairyu_card_no": ident["zcard"].to_numpy()[pid],
        "kubun_30_45": ident["kubun"].to_numpy()[pid],
        "zairyu_shikaku": ident["shikaku"].to_numpy()[pid],
        "zairyu_kikan": ident["kikan"].to_numpy()[pid],
        "zairyu_manryo": manryo,
        "kokuseki": np.where(is_f, nat, None),
        "tsusho_rireki": ident["tsusho"].to_numpy()[pid],
        "jumin_date": jumin_date,
        "jusho_date": jusho_date,
        "shojo_date": shojo,
        "tenshutsu_kakutei_date": np.where(kakutei, kakutei_day, np.iinfo(np.int64).min),
        "zen_jusho": zen,
        "tenshutsu_yotei_jusho": np.where(tenshutsu, yotei, None),
        "tenshutsu_kakutei_jusho": np.where(kakutei, yotei, None),
        "kobetsu_jiko": None,
        "senkyo_shikaku": np.where(is_f, None, senkyo),
        "kokuho_shikaku": kokuho,
        "koki_shikaku": koki,
        "kaigo_shikaku": kaigo,
        "nenkin_shikaku": nenkin,
        "jido_teate_shikaku": jido,
        "mynumber_card_jokyo": card_jokyo,
        "jukicard_jokyo": juki_card,
        "ido_kubun": ido_kubun,
        "ido_jiyu": jiyu,
        "ido_date": ido,
        "todoke_date": todoke,
        "shori_date": shori,
        "shori_time": secs,
        "shori_id": shori_id,
        "tanmatsu_id": tanmatsu,
        "shokuin_no": shokuin,
        "card_no": card_no,
        "riyosha_cert_serial": serial,
        "conveni_pin_hash": pin_hash,
        "rireki_no": rireki.astype(np.int32),
        "town_code": towns["code"].to_numpy()[ti],
    })
    # helpers for the other files (dropped before storing)
    extra = pd.DataFrame({"pid": pid, "ido": ido, "shori": shori, "secs": secs, "ti": ti, "last": last,
                          "kana": ident["kana"].to_numpy()[pid], "kyu_jc": np.where(jiyu == "38", ident["jc_old"].to_numpy()[pid], None),
                          "zen_code": np.where(np.isin(entry_kind, ["11"]) & ~moved, w["out_code"][hh_p[pid]],
                                               np.where(moved, MATSUDO, None)),
                          "jc_since": np.where(ido >= ident["jc_change"].to_numpy()[pid], ident["jc_change"].to_numpy()[pid],
                                               np.maximum(jumin_date, _d(dt.date(2002, 8, 5))))})
    return df, extra


def pin_pepper(seed: int) -> bytes:
    """The secret key of the PIN hash. Synthetic cities derive it from the seed so that a seed
    fixes the city; a real deployment keeps it outside the database (JUKI_PIN_PEPPER)."""
    import os
    env = os.environ.get("JUKI_PIN_PEPPER")
    if env:
        return env.encode()
    return hashlib.sha256(f"juki-synthetic-pin-pepper/{seed}".encode()).digest()


def hash_pin(pin: str, salt: bytes, pepper: bytes) -> str:
    """``hmac-sha256$<salt hex>$<digest hex>``: a keyed hash, since a 4-digit PIN alone could be
    brute-forced from any unkeyed hash.

    >>> h = hash_pin('1234', bytes(16), b'k'); h.split('$')[0], len(h.split('$')[2])
    ('hmac-sha256', 64)
    >>> verify_pin('1234', h, b'k'), verify_pin('4321', h, b'k')
    (True, False)
    """
    return "hmac-sha256$" + salt.hex() + "$" + hmac.new(pepper, salt + pin.encode(), hashlib.sha256).hexdigest()


def verify_pin(pin: str, stored: str, pepper: bytes) -> bool:
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hash_pin(pin, bytes.fromhex(salt), pepper).split("$")[2], digest)
