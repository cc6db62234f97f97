"""What a synthetic city is generated from: size, seed, reference date, rates (a preset).

Rates are per 1,000 residents a year (naturalisation per 1,000 foreign residents), from
``juki/codes/data/city_presets.csv`` -- Matsudo's from the prefecture's published monthly
movements, the others scaled from it (sources in the file and in data/README.md).  A preset
sets the size, the foreign share and the rates; the geography (towns, branch offices) is
Matsudo's for every preset.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ..codes import DATA
from ..errors import JukiError

#: The history window needs ten years of individual numbers (issued from October 2015).
MIN_AS_OF = dt.date(2026, 1, 1)


@dataclass(frozen=True)
class Rates:
    birth: float = 6.0
    death: float = 10.2
    move_in: float = 49.0
    move_out: float = 45.0
    move_abroad_share: float = 0.08   # of moves in/out, the share across the border
    shokken_in: float = 0.2           # 職権記載
    shokken_out: float = 1.2          # 職権消除
    naturalisation: float = 3.0       # per 1,000 foreign residents


@dataclass(frozen=True)
class Params:
    residents: int = 500_000
    seed: int = 1
    as_of: dt.date = dt.date(2026, 4, 1)
    years: int = 10                 # history window: from 1 January, ``years`` years back
    foreign_share: float = 0.041
    rates: Rates = field(default_factory=Rates)
    sofusaki_days: int = 60         # 送付先情報 kept for persons numbered in this many days
    preset: str = "matsudo"


@lru_cache(maxsize=1)
def presets() -> dict[str, dict]:
    with (DATA / "city_presets.csv").open(encoding="utf-8", newline="") as fh:
        return {r["preset"]: r for r in csv.DictReader(fh)}


def from_preset(name: str = "matsudo", residents: int | None = None, **kw) -> Params:
    """Params of a preset city, optionally resized (``residents``) or otherwise changed."""
    p = presets().get(name)
    if p is None:
        raise JukiError(f"unknown preset {name!r}; known: {', '.join(presets())}")
    rates = Rates(birth=float(p["birth"]), death=float(p["death"]), move_in=float(p["move_in"]),
                  move_out=float(p["move_out"]), move_abroad_share=float(p["move_abroad_share"]),
                  shokken_in=float(p["shokken_in"]), shokken_out=float(p["shokken_out"]),
                  naturalisation=float(p["naturalisation"]))
    params = Params(residents=residents or int(p["residents"]), foreign_share=float(p["foreign_share"]),
                    rates=rates, preset=name)
    return replace(params, **kw)
