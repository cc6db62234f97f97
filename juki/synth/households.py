"""Households of the synthetic city: types, members, ages, sexes and 続柄.

Household types and their shares come from ``juki/codes/data/household_types.csv``; ages are
drawn so that the pyramid looks like an ageing commuter city near Tokyo (~26% aged 65+, ~11%
under 15, ~2.1 persons per household).  Everything is vectorised on one ``Generator``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .. import codes

ROLES = ("head", "spouse", "kid1", "kid2", "kid3", "elder")


@lru_cache(maxsize=1)
def household_types() -> tuple[np.ndarray, np.ndarray]:
    t = codes.frame("household_types")
    w = t["share"].astype(float).to_numpy()
    return t["type"].to_numpy(), w / w.sum()


def _clip_normal(rng, mean, sd, lo, hi, n):
    return np.clip(rng.normal(mean, sd, n), lo, hi)


def _truncated_normal(rng, mean, sd, lo, hi, n):
    """Normal draws kept within [lo, hi] by the inverse CDF (no pile-up at the bounds, as clipping makes)."""
    from scipy.special import ndtr, ndtri
    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    return mean + sd * ndtri(rng.uniform(a, b, n))


#: Head ages of one-person and couple households: (share, mean, sd, lowest, highest) per
#: component.  The middle and old components overlap over 55〜74, so the 60〜64 band is about
#: 0.9 of 55〜59 and close to 65〜69, as in Japan's pyramid (総務省 人口推計).
HEAD_AGE_MIX = {"single": ((0.36, 28, 6, 18, 45), (0.24, 59, 8, 38, 78), (0.40, 80, 8, 60, 101)),
                "couple": ((0.14, 32, 5, 22, 45), (0.33, 60, 7, 45, 80), (0.53, 77, 7, 60, 98))}


def _head_ages(rng, t, n):
    head_age = np.empty(n)
    for typ, mix in HEAD_AGE_MIX.items():
        m = t == typ
        k = int(m.sum())
        u = rng.random(k)
        edges = np.cumsum([c[0] for c in mix])
        which = np.searchsorted(edges, u, side="right").clip(0, len(mix) - 1)
        draws = np.stack([_truncated_normal(rng, mean, sd, lo, hi, k) for _, mean, sd, lo, hi in mix])
        head_age[m] = draws[which, np.arange(k)]
    for typ, mean, sd in (("family", 43, 8), ("lone_parent", 43, 8), ("three_gen", 46, 8)):
        m = t == typ
        head_age[m] = _clip_normal(rng, mean, sd, 24, 62, int(m.sum()))
    m = t == "elder_with_child"
    head_age[m] = _clip_normal(rng, 80, 5, 68, 100, int(m.sum()))
    return head_age


def make_households(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Members of ``n`` households, one row per person: hh, role_no, age (years), sex, zokugara, type."""
    types, p = household_types()
    t = rng.choice(types, size=n, p=p)
    age = {r: np.full(n, np.nan) for r in ROLES}
    sex = {r: np.full(n, "", dtype=object) for r in ROLES}
    zok = {r: np.full(n, "", dtype=object) for r in ROLES}

    head_age = _head_ages(rng, t, n)
    age["head"] = head_age
    head_male = rng.random(n) < np.select(
        [t == "single", t == "lone_parent", t == "elder_with_child"],
        [np.where(head_age < 60, 0.56, 0.38), 0.15, 0.35], 0.93)
    sex["head"] = np.where(head_male, "1", "2")
    zok["head"][:] = "01"

    has_sp = np.isin(t, ["couple", "family", "three_gen"])
    sp_age = head_age + np.where(head_male, -1, 1) * rng.normal(2, 3, n)
    age["spouse"] = np.where(has_sp, np.clip(sp_age, 18, 101), np.nan)
    sex["spouse"] = np.where(has_sp, np.where(head_male, "2", "1"), "")
    unreg = rng.random(n) < 0.02
    zok["spouse"] = np.where(has_sp, np.where(head_male, np.where(unreg, "05", "03"), np.where(unreg, "04", "02")), "")

    # children: the mother's age determines the children's
    mother_age = np.where(has_sp & head_male, age["spouse"], head_age)
    n_kids = np.select([t == "family", t == "lone_parent", t == "three_gen"],
                       [rng.choice([1, 2, 3], n, p=[0.42, 0.46, 0.12]), rng.choice([1, 2], n, p=[0.65, 0.35]),
                        rng.choice([1, 2], n, p=[0.5, 0.5])], 0)
    birth_age = _clip_normal(rng, 31.5, 4, 19, 44, n)
    for i, role in enumerate(("kid1", "kid2", "kid3")):
        kid_age = mother_age - birth_age - i * _clip_normal(rng, 2.5, 1, 1, 6, n) + rng.uniform(0, 1, n)
        # a 子 is at least 16 years younger than both parents (a spouse much older than the
        # head would otherwise give the head a child 10 years younger: 続柄 says 妻の子 then)
        ok = (n_kids > i) & (kid_age >= 0) & (kid_age < 31) & (kid_age <= head_age - 16)
        age[role] = np.where(ok, kid_age, np.nan)
        sex[role] = np.where(ok, np.where(rng.random(n) < 0.512, "1", "2"), "")
        zok[role] = np.where(ok, "06", "")
    m = t == "elder_with_child"     # the adult child living with an elderly parent
    age["kid1"] = np.where(m, head_age - _clip_normal(rng, 30, 4, 20, 42, n), age["kid1"])
    sex["kid1"] = np.where(m, np.where(rng.random(n) < 0.55, "1", "2"), sex["kid1"])
    zok["kid1"] = np.where(m, "06", zok["kid1"])

    m = t == "three_gen"            # the head's parent
    fem = rng.random(n) < 0.75
    age["elder"] = np.where(m, np.clip(head_age + _clip_normal(rng, 30, 4, 20, 42, n), 60, 104), np.nan)
    sex["elder"] = np.where(m, np.where(fem, "2", "1"), "")
    zok["elder"] = np.where(m, np.where(fem, "10", "09"), "")

    frames = []
    for j, r in enumerate(ROLES):
        idx = np.nonzero(~np.isnan(age[r]))[0]
        frames.append(pd.DataFrame({"hh": idx, "role_no": j, "age": age[r][idx], "sex": sex[r][idx],
                                    "zokugara": zok[r][idx], "type": t[idx]}))
    return pd.concat(frames, ignore_index=True).sort_values(["hh", "role_no"], kind="stable").reset_index(drop=True)
