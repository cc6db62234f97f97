"""One block of the city: households and persons over the history window.

A block is a fixed number of households living in the city on the reference date plus the
households that lived there during the window and are gone (moved out, or died out), with
their own random stream, so a city is the same whatever the chunk it is written in.  This step
decides, per household and person, the facts the 異動 history is made of: who was already there
at the system migration (改製) and who arrived when (国内/国外転入, 職権記載), who left when and
why (国内/国外転出, 死亡, 職権消除), who was born in the city, whose spouse died (世帯主変更),
who split off from their parents (世帯分離), who moved within the city (転居) and which foreign
households naturalised (帰化).  Counts follow the preset's rates per 1,000 residents a year.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clock import FAR, NA, seasonal_days
from .households import make_households
from .params import Params

YEAR = 365.25


@dataclass
class Window:
    A: int        # reference date
    W: int        # first day of the history window (1 January)
    M0: int       # the system migration (改製): first business day on or after 4 January

    @property
    def years(self) -> float:
        return (self.A - self.W) / YEAR


@dataclass
class People:
    """Households (arrays of length H) and persons (``persons`` frame and arrays of length n)."""
    kind: np.ndarray            # living | moved | died (per household)
    pre: np.ndarray             # present at the migration
    entry: np.ndarray           # day of the household's first row
    jumin: np.ndarray           # 住民となった日 of the household
    jusho: np.ndarray           # 住所を定めた日 before any 転居
    entry_jiyu: np.ndarray      # 11 国内転入, 12 国外転入等, 16 職権記載 (arrivals)
    exit: np.ndarray            # day the household left (NA while living)
    exit_jiyu: np.ndarray       # 21, 22, 23, 26 ('' while living)
    move: np.ndarray            # day of a 転居 within the city (FAR: none)
    foreign: np.ndarray         # foreign household (at the end of its stay)
    naturalised: np.ndarray     # day the household naturalised (NA: never)
    persons: pd.DataFrame       # hh, role_no, age, sex, zokugara, birth, jumin_date, jusho_date
    exit_of: np.ndarray         # per person: day of removal (NA)
    exit_jiyu_of: np.ndarray    # per person: 異動事由 of the removal ('')
    head_of: np.ndarray         # per person: index of the head of their household
    alt_until: np.ndarray       # per person: an earlier household state lasts until this day (NA: none)
    alt_hh: np.ndarray
    alt_zok: np.ndarray
    alt_head: np.ndarray
    split: np.ndarray           # persons who split off (世帯分離) and the day
    split_day: np.ndarray
    widow: np.ndarray           # survivors who became head (世帯主変更) and the day
    widow_day: np.ndarray

    @property
    def n(self) -> int:
        return len(self.persons)


def _households(rng, p: Params, w: Window, n_living: int, trim: int | None):
    live = make_households(rng, n_living)
    if trim is not None:
        live = live.head(trim)
    per_year = lambda rate: rate / 1000 * w.years * len(live)  # noqa: E731
    r = p.rates
    moved = make_households(rng, max(1, int(per_year(r.move_out + r.shokken_out) / 1.9)))
    deaths_target = per_year(r.death)
    # most deaths end a household of old people; the others leave a widow or widower (below)
    died = make_households(rng, max(1, int(deaths_target * 0.6 / 1.3)))
    died = died[died["type"].isin(["single", "couple"])]
    parts, kinds, offset = [], [], 0
    for frame, kind in ((live, "living"), (moved, "moved"), (died, "died")):
        f = frame.copy()
        codes_, uniq = pd.factorize(f["hh"])
        f["hh"] = codes_ + offset
        offset += len(uniq)
        parts.append(f)
        kinds.append(np.full(len(uniq), kind, dtype=object))
    persons = pd.concat(parts, ignore_index=True)
    kind = np.concatenate(kinds)
    # died-out households were old when they died
    old = kind[persons["hh"].to_numpy()] == "died"
    persons.loc[old, "age"] = np.clip(persons.loc[old, "age"] + 25, 70, 104)
    return persons, kind, deaths_target


def build(rng: np.random.Generator, p: Params, w: Window, n_living: int, trim: int | None = None) -> People:
    persons, kind, deaths_target = _households(rng, p, w, n_living, trim)
    H = len(kind)
    hh = persons["hh"].to_numpy()
    is_head = persons["zokugara"].to_numpy() == "01"
    size = np.bincount(hh, minlength=H)
    head_idx = np.full(H, -1)
    head_idx[hh[is_head]] = np.nonzero(is_head)[0]
    head_age = persons["age"].to_numpy()[head_idx]
    living = kind == "living"
    r = p.rates

    # --- exits of gone households (ages are at exit)
    exit_ = np.full(H, NA, dtype=np.int64)
    gone = ~living
    exit_[gone] = seasonal_days(rng, w.M0 + 60, w.A + 1, int(gone.sum()))
    late = (kind == "moved") & (exit_ > w.A - 20) & (rng.random(H) < 0.2)   # 転出 notified, date still ahead
    exit_[late] = w.A + rng.integers(1, 15, int(late.sum()))
    ref = np.where(gone, np.minimum(exit_, w.A), w.A)
    birth = ref[hh] - np.floor(persons["age"].to_numpy() * YEAR).astype(np.int64)

    # --- foreign households (at the end of their stay), scaled to the preset's share
    young_single = (size == 1) & (head_age < 40)
    wgt = np.where(young_single, 3.0, np.where(head_age < 45, 1.2, 0.25)) * np.where(kind == "moved", 1.8, 1.0)
    wgt = np.where(kind == "died", 0.1, wgt)
    scale = p.foreign_share * living[hh].sum() / max((wgt[living] * size[living]).sum(), 1)
    foreign = rng.random(H) < np.clip(wgt * scale, 0, 1)

    # --- arrivals: a household present at the migration, or arrived later (skewed to recent years)
    stay = np.where(foreign, 0.35, 0.72) * np.clip((head_age - 20) / 30, 0.2, 0.95)
    # stays end at the rate of leaving (moves and deaths): arrivals of households still here are
    # skewed to recent years, those of households that left since to earlier ones, and together
    # they are as many each year (a household that arrived before the window was there at M0)
    mu = (r.move_out + r.death) / 1000 / YEAR
    stayed = rng.exponential(1 / mu, H).astype(np.int64)
    moved_pre = (exit_ - stayed) < w.W
    pre = np.where(kind == "moved", moved_pre, rng.random(H) < np.where(kind == "died", 0.95, stay))
    adult_since = ref - ((head_age - 18) * YEAR).astype(np.int64)
    lo = np.maximum(adult_since, w.W - 40 * 365)
    jumin_pre = np.minimum(lo + (rng.random(H) * np.maximum(w.W - 1 - lo, 1)).astype(np.int64), w.W - 1)
    hi = np.where(gone, exit_ - 30, w.A - 1)
    span = np.maximum(hi - w.W - 2, 1)   # living arrivals: a truncated exponential over the window
    u = rng.random(H)
    back = (-np.log1p(-u * -np.expm1(-mu * span)) / mu).astype(np.int64)
    arrival = np.maximum(hi - back, w.W + 1)
    arrival = np.where(rng.random(H) < 0.5, arrival, seasonal_days(rng, arrival - 30, arrival + 30, H).clip(w.W + 1, hi))
    arrival = np.where(kind == "moved", np.clip(exit_ - stayed, w.W + 1, np.maximum(exit_ - 30, w.W + 1)), arrival)
    entry = np.where(pre, w.M0, arrival)
    jumin = np.where(pre, jumin_pre, arrival)
    jusho = np.where(pre, jumin_pre + (rng.random(H) * (w.W - 1 - jumin_pre)).astype(np.int64), arrival)
    abroad_in = rng.random(H) < np.where(foreign, 0.55, r.move_abroad_share * 0.5)
    shokken_in = rng.random(H) < r.shokken_in / max(r.move_in, 1e-9)
    entry_jiyu = np.where(shokken_in, "16", np.where(abroad_in, "12", "11"))

    # --- exits: why each gone household left
    u = rng.random(H)
    exit_jiyu = np.where(kind == "died", "23",
                         np.where(u < r.shokken_out / max(r.move_out + r.shokken_out, 1e-9), "26",
                                  np.where(rng.random(H) < np.where(foreign, 0.45, r.move_abroad_share * 0.6), "22", "21")))
    exit_jiyu = np.where(gone, exit_jiyu, "")
    exit_jiyu = np.where((exit_jiyu != "21") & (exit_jiyu != "22") & (exit_ > w.A), "21", exit_jiyu)

    # --- 転居 of whole households, naturalisation of foreign ones
    move_lo = np.maximum(entry, w.M0) + 30
    move_hi = np.where(gone, exit_ - 30, w.A - 1)
    moves = (rng.random(H) < 0.3) & (move_hi > move_lo + 1)
    move = np.where(moves, move_lo + (rng.random(H) * (move_hi - move_lo)).astype(np.int64), FAR)
    nat_p = r.naturalisation / 1000 * w.years * 1.2
    nat = living & ~foreign & (rng.random(H) < nat_p * p.foreign_share) & (head_age > 25)
    naturalised = np.where(nat, np.maximum(entry, w.M0) + 30 + (rng.random(H) * np.maximum(
        w.A - 30 - np.maximum(entry, w.M0) - 30, 1)).astype(np.int64), NA)
    naturalised = np.where(naturalised >= w.A, NA, naturalised)

    persons["birth"] = birth
    persons["jumin_date"] = np.maximum(jumin[hh], birth)
    persons["jusho_date"] = np.maximum(jusho[hh], birth)
    n = len(persons)
    exit_of = exit_[hh].copy()
    exit_jiyu_of = exit_jiyu[hh].copy()
    head_of = head_idx[hh].copy()
    # in died-out couples the spouse dies first, the head up to three years later
    second = (kind[hh] == "died") & (size[hh] == 2) & is_head
    first_death = exit_of[second]
    later = first_death + rng.integers(30, 3 * 365, int(second.sum()))
    room = np.maximum(w.A - 5 - first_death, 0)
    exit_of[second] = np.where(later <= w.A - 5, later, first_death + (rng.random(len(room)) * room).astype(np.int64))
    people = People(kind, pre, entry, jumin, jusho, entry_jiyu, exit_, exit_jiyu, move, foreign, naturalised,
                    persons, exit_of, exit_jiyu_of, head_of,
                    np.full(n, NA, dtype=np.int64), np.full(n, -1), np.full(n, "", dtype=object), np.full(n, -1),
                    np.zeros(0, int), np.zeros(0, np.int64), np.zeros(0, int), np.zeros(0, np.int64))
    _widows(rng, people, w, head_idx, head_age, size, deaths_target)
    _split_offs(rng, people, w, head_idx, head_age, size)
    return people


def _widows(rng, pp: People, w: Window, head_idx, head_age, size, deaths_target) -> None:
    """Deceased spouses of old people who live alone now: a removed person in a living household;
    a widow whose husband was the head became head by 世帯主変更."""
    died_so_far = int((pp.exit_jiyu_of == "23").sum())
    need = max(deaths_target - died_so_far, 0)
    cand = np.nonzero((pp.kind == "living") & (size == 1) & (head_age >= 65) & pp.pre)[0]
    share = min(need / max(len(cand), 1), 0.9)
    widowed = cand[rng.random(len(cand)) < share]
    surv = head_idx[widowed]
    surv_sex = pp.persons["sex"].to_numpy()[surv]
    death = w.M0 + 10 + (rng.random(len(widowed)) * (w.A - 30 - w.M0)).astype(np.int64)
    dec_age = np.clip(head_age[widowed] + np.where(surv_sex == "2", 2, -2) + rng.normal(0, 2, len(widowed)), 60, 104)
    dec_head = surv_sex == "2"          # a deceased husband was the head
    dec = pd.DataFrame({"hh": widowed, "role_no": 9, "age": dec_age, "sex": np.where(surv_sex == "2", "1", "2"),
                        "zokugara": np.where(dec_head, "01", "03"), "type": "single",
                        "birth": death - (dec_age * YEAR).astype(np.int64),
                        "jumin_date": pp.jumin[widowed], "jusho_date": pp.jusho[widowed]})
    dec["jumin_date"] = np.maximum(dec["jumin_date"], dec["birth"])
    dec["jusho_date"] = np.maximum(dec["jusho_date"], dec["birth"])
    first = len(pp.persons)
    pids = np.arange(first, first + len(dec))
    pp.persons = pd.concat([pp.persons, dec], ignore_index=True)
    k = len(dec)
    pp.exit_of = np.concatenate([pp.exit_of, death])
    pp.exit_jiyu_of = np.concatenate([pp.exit_jiyu_of, np.full(k, "23", dtype=object)])
    pp.head_of = np.concatenate([pp.head_of, np.where(dec_head, pids, surv)])
    pp.alt_until = np.concatenate([pp.alt_until, np.full(k, NA, dtype=np.int64)])
    pp.alt_hh = np.concatenate([pp.alt_hh, np.full(k, -1)])
    pp.alt_zok = np.concatenate([pp.alt_zok, np.full(k, "", dtype=object)])
    pp.alt_head = np.concatenate([pp.alt_head, np.full(k, -1)])
    # the widow was 妻 until the 世帯主変更 a few days after the husband's death
    change = np.minimum(death + rng.integers(1, 14, k), w.A)
    s_f = surv[dec_head]
    pp.alt_until[s_f] = change[dec_head]
    pp.alt_hh[s_f] = widowed[dec_head]
    pp.alt_zok[s_f] = "03"
    pp.alt_head[s_f] = pids[dec_head]
    pp.widow, pp.widow_day = s_f, change[dec_head]


def _split_offs(rng, pp: People, w: Window, head_idx, head_age, size) -> None:
    """世帯分離: young residents living alone who were children in an older household of the block."""
    P = pp.persons
    hh = P["hh"].to_numpy()
    ages = P["age"].to_numpy()
    living_p = (pp.kind[hh] == "living") & (pp.exit_of == NA)
    fam = np.nonzero((pp.kind == "living") & pp.pre & (size >= 3) & ~pp.foreign & (pp.move == FAR)
                     & (pp.naturalised == NA))[0]
    fam = fam[np.argsort(head_age[fam], kind="stable")]
    singles = np.nonzero(living_p & (size[hh] == 1) & (ages >= 20) & (ages < 36) & ~pp.foreign[hh]
                         & pp.pre[hh] & (pp.naturalised[hh] == NA) & (P["zokugara"].to_numpy() == "01"))[0]
    singles = singles[rng.random(len(singles)) < 0.3]
    if not len(fam) or not len(singles):
        return
    want = ages[singles] + rng.uniform(24, 34, len(singles))
    parent_hh = fam[np.clip(np.searchsorted(head_age[fam], want), 0, len(fam) - 1)]
    ok = np.abs(head_age[parent_hh] - want) < 6
    singles, parent_hh = singles[ok], parent_hh[ok]
    birth = P["birth"].to_numpy()
    lo = np.maximum(w.M0 + 30, birth[singles] + 18 * 365)
    day_ = lo + (rng.random(len(singles)) * np.maximum(w.A - 1 - lo, 1)).astype(np.int64)
    good = day_ < w.A
    singles, parent_hh, day_ = singles[good], parent_hh[good], day_[good]
    pp.alt_until[singles] = day_
    pp.alt_hh[singles] = parent_hh
    pp.alt_zok[singles] = "06"
    pp.alt_head[singles] = head_idx[parent_hh]
    P.loc[singles, "jumin_date"] = np.maximum(pp.jumin[parent_hh], birth[singles])
    P.loc[singles, "jusho_date"] = day_
    pp.split, pp.split_day = singles, day_
