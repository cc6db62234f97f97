"""One row per change of a person's record: the 異動 history of a block.

Entry (改製 at the system migration for those already there, 出生, 国内転入, 国外転入等,
職権記載), 転居 of whole households, 世帯分離, 世帯主変更 after the head's death, 帰化 (the
foreign record removed by 職権消除(帰化等) and a Japanese one written by 職権記載(帰化等) the same
day), 個人番号 / 住民票コード changes, removal (国内転出, 国外転出, 死亡, 職権消除) and, once the
転入通知 has come back, 転出確定 as its own row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clock import FAR, NA
from .people import People, Window


@dataclass
class Events:
    frame: pd.DataFrame    # pid, ido (day), jiyu, ord -- sorted by person, day, order
    entry_day: np.ndarray  # per person: the day of their first row
    kakutei: np.ndarray    # per person: 転出確定日 (NA when none)


def build(rng, pp: People, w: Window, cal) -> Events:
    P = pp.persons
    n = len(P)
    hh = P["hh"].to_numpy()
    birth = P["birth"].to_numpy()
    pid = np.arange(n)
    pre = pp.pre[hh]
    split = np.zeros(n, bool)
    split[pp.split] = True
    ev = []

    first = np.where(split, w.M0, pp.entry[hh])           # split-offs were with their parents at M0
    born_after = (birth > np.maximum(first, pp.jumin[hh])) & ~split
    migrated = (pre | split) & ~born_after
    entry = np.where(born_after, birth, np.where(migrated, w.M0, pp.entry[hh]))
    jiyu = np.where(born_after, "13", np.where(migrated, "17", pp.entry_jiyu[hh]))
    ev.append(pd.DataFrame({"pid": pid, "ido": entry, "jiyu": jiyu, "ord": 0}))

    mv = pp.move[hh]
    m = (mv < FAR) & (entry < mv) & np.where(pp.exit_of != NA, mv < pp.exit_of, True)
    ev.append(pd.DataFrame({"pid": pid[m], "ido": mv[m], "jiyu": "31", "ord": 1}))
    ev.append(pd.DataFrame({"pid": pp.split, "ido": pp.split_day, "jiyu": "40", "ord": 2}))
    ev.append(pd.DataFrame({"pid": pp.widow, "ido": pp.widow_day, "jiyu": "43", "ord": 2}))

    nat = pp.naturalised[hh]
    m = (nat != NA) & (entry < nat) & (pp.exit_of == NA)
    ev.append(pd.DataFrame({"pid": pid[m], "ido": nat[m], "jiyu": "24", "ord": 5}))
    ev.append(pd.DataFrame({"pid": pid[m], "ido": nat[m], "jiyu": "14", "ord": 6}))

    living = np.nonzero(pp.exit_of == NA)[0]
    lo = np.maximum(entry[living], w.M0) + 30
    ok = lo < w.A - 1
    cand, lo = living[ok], lo[ok]
    d = lo + (rng.random(len(cand)) * (w.A - 1 - lo)).astype(np.int64)
    d2 = lo + (rng.random(len(cand)) * (w.A - 1 - lo)).astype(np.int64)
    c35 = rng.random(len(cand)) < 0.002
    c38 = rng.random(len(cand)) < 0.001
    ev.append(pd.DataFrame({"pid": cand[c35], "ido": d[c35], "jiyu": "35", "ord": 3}))
    ev.append(pd.DataFrame({"pid": cand[c38], "ido": d2[c38], "jiyu": "38", "ord": 4}))

    gone = np.nonzero(pp.exit_of != NA)[0]
    ev.append(pd.DataFrame({"pid": gone, "ido": pp.exit_of[gone], "jiyu": pp.exit_jiyu_of[gone], "ord": 9}))
    # 転出確定: the 転入通知 arrives days or weeks after a 国内転出 (only once it has arrived)
    kakutei = np.full(n, NA, dtype=np.int64)
    out = gone[pp.exit_jiyu_of[gone] == "21"]
    kd = pp.exit_of[out] + rng.integers(3, 25, len(out))
    arrived = cal.on_or_after(kd) <= w.A
    kakutei[out[arrived]] = kd[arrived]
    ev.append(pd.DataFrame({"pid": out[arrived], "ido": kd[arrived], "jiyu": "20", "ord": 10}))

    E = pd.concat(ev, ignore_index=True)
    E = E[E["ido"] >= entry[E["pid"].to_numpy()]]          # nothing before a person's first row
    E = E.sort_values(["pid", "ido", "ord"], kind="stable").reset_index(drop=True)
    return Events(E, entry, kakutei)
