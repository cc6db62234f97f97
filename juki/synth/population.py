"""Households and persons of the synthetic city (who lives, who left, who died).

Everything is vectorised with numpy on one ``Generator`` so that a seed fixes the city.
Ages are at the reference date (as_of).  Household types and their shares are tuned so
that the pyramid looks like an ageing commuter city near Tokyo (~26% aged 65+, ~11% under
15, ~2.1 persons per household).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# type: (share of households, description)
HOUSEHOLD_TYPES = {
    "single": 0.42, "couple": 0.23, "family": 0.19, "lone_parent": 0.06,
    "three_gen": 0.03, "elder_with_child": 0.07,
}
ROLES = ("head", "spouse", "kid1", "kid2", "kid3", "elder")


@dataclass
class Households:
    """Persons of a set of households, one row per person (a DataFrame) plus household ids."""
    persons: pd.DataFrame  # hh, role, sex, age_days, zokugara
    n_households: int


def _clip_normal(rng, mean, sd, lo, hi, n):
    return np.clip(rng.normal(mean, sd, n), lo, hi)


def make_households(rng: np.random.Generator, n_persons: int) -> Households:
    """Households whose members add up to exactly ``n_persons`` persons."""
    est = int(n_persons / 1.6) + 32
    types = np.array(list(HOUSEHOLD_TYPES))
    p = np.array(list(HOUSEHOLD_TYPES.values()))
    t = rng.choice(types, size=est, p=p / p.sum())
    n = est
    age = {r: np.full(n, np.nan) for r in ROLES}
    sex = {r: np.full(n, "", dtype=object) for r in ROLES}
    zok = {r: np.full(n, "", dtype=object) for r in ROLES}

    # head
    head_age = np.empty(n)
    m = t == "single"
    k = m.sum()
    mix = rng.random(k)
    head_age[m] = np.where(mix < 0.36, _clip_normal(rng, 28, 6, 18, 45, k),
                           np.where(mix < 0.60, _clip_normal(rng, 53, 7, 40, 66, k), _clip_normal(rng, 78, 8, 65, 101, k)))
    m = t == "couple"
    k = m.sum()
    mix = rng.random(k)
    head_age[m] = np.where(mix < 0.14, _clip_normal(rng, 32, 5, 22, 45, k),
                           np.where(mix < 0.45, _clip_normal(rng, 56, 6, 45, 68, k), _clip_normal(rng, 76, 6, 65, 98, k)))
    for typ, mean in (("family", 46), ("lone_parent", 45), ("three_gen", 48)):
        m = t == typ
        head_age[m] = _clip_normal(rng, mean, 7, 25, 62, m.sum())
    m = t == "elder_with_child"
    head_age[m] = _clip_normal(rng, 80, 5, 68, 100, m.sum())
    age["head"] = head_age

    head_male = rng.random(n) < np.select(
        [t == "single", t == "lone_parent", t == "elder_with_child"],
        [np.where(head_age < 60, 0.56, 0.38), 0.15, 0.35], 0.93)
    sex["head"] = np.where(head_male, "1", "2")
    zok["head"][:] = "01"

    # spouse
    has_sp = np.isin(t, ["couple", "family", "three_gen"])
    sp_age = head_age + np.where(head_male, -1, 1) * rng.normal(2, 3, n)
    age["spouse"] = np.where(has_sp, np.clip(sp_age, 18, 101), np.nan)
    sex["spouse"] = np.where(has_sp, np.where(head_male, "2", "1"), "")
    unreg = rng.random(n) < 0.02
    zok["spouse"] = np.where(has_sp, np.where(head_male, np.where(unreg, "05", "03"),
                                              np.where(unreg, "04", "02")), "")

    # children: mother's age determines children's ages
    mother_age = np.where(has_sp & head_male, age["spouse"], head_age)
    n_kids = np.select([t == "family", t == "lone_parent", t == "three_gen"],
                       [rng.choice([1, 2, 3], n, p=[0.42, 0.46, 0.12]),
                        rng.choice([1, 2], n, p=[0.65, 0.35]),
                        rng.choice([1, 2], n, p=[0.5, 0.5])], 0)
    birth_age = _clip_normal(rng, 31.5, 4, 19, 44, n)
    for i, role in enumerate(("kid1", "kid2", "kid3")):
        kid_age = mother_age - birth_age - i * _clip_normal(rng, 2.5, 1, 1, 6, n) + rng.uniform(0, 1, n)
        ok = (n_kids > i) & (kid_age >= 0)
        # family households keep children until their late 20s at most
        ok &= kid_age < 31
        age[role] = np.where(ok, kid_age, np.nan)
        sex[role] = np.where(ok, np.where(rng.random(n) < 0.512, "1", "2"), "")
        zok[role] = np.where(ok, "06", "")
    # the adult child living with an elderly parent
    m = t == "elder_with_child"
    ca = head_age - _clip_normal(rng, 30, 4, 20, 42, n)
    age["kid1"] = np.where(m, ca, age["kid1"])
    sex["kid1"] = np.where(m, np.where(rng.random(n) < 0.55, "1", "2"), sex["kid1"])
    zok["kid1"] = np.where(m, "06", zok["kid1"])

    # the head's parent in three-generation households
    m = t == "three_gen"
    ea = np.clip(head_age + _clip_normal(rng, 30, 4, 20, 42, n), 60, 104)
    age["elder"] = np.where(m, ea, np.nan)
    fem = rng.random(n) < 0.75
    sex["elder"] = np.where(m, np.where(fem, "2", "1"), "")
    zok["elder"] = np.where(m, np.where(fem, "10", "09"), "")

    frames = []
    for j, r in enumerate(ROLES):
        present = ~np.isnan(age[r])
        idx = np.nonzero(present)[0]
        frames.append(pd.DataFrame({"hh": idx, "role_no": j, "age": age[r][idx],
                                    "sex": sex[r][idx], "zokugara": zok[r][idx]}))
    persons = pd.concat(frames, ignore_index=True).sort_values(["hh", "role_no"], kind="stable")
    # cut to exactly n_persons: whole households, then trim the last one
    sizes = persons.groupby("hh").size()
    cum = sizes.cumsum()
    if cum.iloc[-1] < n_persons:
        raise RuntimeError("household estimate too small")  # pragma: no cover
    last_hh = int(cum.index[np.searchsorted(cum.values, n_persons)])
    persons = persons[persons["hh"] <= last_hh].head(n_persons).reset_index(drop=True)
    # renumber households 0..H-1 in order
    persons["hh"] = pd.factorize(persons["hh"])[0]
    return Households(persons=persons, n_households=int(persons["hh"].max()) + 1 if len(persons) else 0)
