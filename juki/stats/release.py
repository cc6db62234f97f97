"""The statistics release of a reference date: what ``02_population_statistics`` publishes.

Built from the analysis store only.  Official tables are suppressed at the disclosure policy's
threshold (or a higher one asked for); a run below the floor -- administrators only -- is
marked 「内部資料・公表不可」 everywhere.  Everything is written as CSV (UTF-8 with BOM) and as
one Excel workbook in the survey's layout.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..codes.era import to_wareki
from . import excel, movements, official, population
from .population import Protect
from .stattable import StatTable

WORKBOOK = "住民基本台帳人口統計.xlsx"
#: The exact counts beside the release: the survey's municipal row (what the city reports to the
#: prefecture) and the balance check.  Never in the published workbook: they hold counts its
#: tables hide (e.g. 外国人住民 出生者数 1 next to a hidden 出生 外国人住民_女).
INTERNAL_WORKBOOK = "内部資料_県への報告と増減の検証.xlsx"
#: What a release at or above the floor says instead of those exact counts.
EXACT_NOTE = ("県への報告の行（調査の市区町村別の正確な数）と人口の増減の検証表は正確な数を含むため、管理者が秘匿の基準を"
              "下回って（threshold = 0）内部資料として集計したときにのみ表示し、"
              f"「{INTERNAL_WORKBOOK}」に出力する。")


@dataclass
class Release:
    ref: dt.date
    start: dt.date
    end: dt.date
    level: str
    protect: Protect
    tables: dict = field(default_factory=dict)       # section -> list of StatTable
    survey_year: int | None = None
    survey_rows: pd.DataFrame | None = None
    balance: pd.DataFrame | None = None
    breaks: pd.DataFrame | None = None
    monthly_start: dt.date | None = None
    monthly_diff: pd.DataFrame | None = None
    shares: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    audit: object = None                               # the linked tables' audit (linked.Audit)
    earlier: object = None                             # last month's published release (earlier.Earlier)
    earlier_missing: dt.date | None = None             # sought for this date in the reports, not found

    @classmethod
    def build(cls, a, ref=None, period_start=None, period_end=None, level: str = "choiki", threshold=None,
              can_go_below: bool = False, published=None) -> "Release":
        """The release of ``ref``; ``published`` is the reports folder, where last month's
        release (if any) is read from as its readers have it (:mod:`.earlier`)."""
        from . import earlier
        from .policy import load
        ref = a.ref_date(ref)
        t, internal = load().check_threshold(threshold, can_go_below)
        protect = Protect("suppression", t, internal)
        start, end = movements.parse_period(ref, period_start, period_end)
        for d in (start, end):
            a.ref_date(d)     # both ends must be published reference dates
        rel = cls(ref, start, end, level, protect)
        rel.summary = population.summary(a, ref)
        rel.tables["人口"] = [population.population_age_sex(a, ref, protect), population.households(a, ref, protect),
                            population.population_by_area(a, ref, level, protect),
                            population.households_by_area(a, ref, level, protect)]
        if end.month == 1 and end.day == 1 and start == dt.date(end.year - 1, 1, 1):
            rel.survey_year = end.year
            rel.tables["総務省調査"] = official.all_survey(a, end.year, protect)
            rel.survey_rows = official.survey_row_table(a, end.year)
        else:
            rel.tables["人口動態"] = movements.movements(a, start, end, protect)
        rel.balance, rel.breaks = official.balance(a, start, end)
        prev = [d for d in a.ref_dates if d < ref]
        if prev:
            rel.monthly_start = max(prev) if max(prev) > ref - dt.timedelta(days=32) else None
        if rel.monthly_start:
            mt = official.monthly_towns(a, rel.monthly_start, ref, "town", protect)
            rel.tables["町丁字別"] = [mt]
            if published is not None and not protect.internal:
                rel.earlier = earlier.read(published, rel.monthly_start)
                rel.earlier_missing = None if rel.earlier else rel.monthly_start
            rel.monthly_diff = official.monthly_check(mt)
        ages = official.single_ages(a, ref, level, protect)
        bands, rel.shares = official.three_bands(a, ref, level, protect)
        rel.tables["年齢・世帯・移動"] = [ages, bands, official.household_sizes(a, ref, protect),
                                     *official.moves_by_municipality(a, start, end, protect),
                                     movements.monthly_movements(a, start, end, protect),
                                     movements.workload(a, start, end, protect)]
        rel.tables["外国人住民"] = [population.foreign_nationality(a, ref, protect), population.foreign_status(a, ref, protect),
                                official.foreign_detail(a, ref, protect)]
        rel.protect_linked(load().protection, a)
        return rel

    def protect_linked(self, protection: int, a=None) -> None:
        """The linked tables (the 町域 tables, and the 町丁字 table with households_choiki when the
        release has them) as one problem, audited by the attacker's linear program; refused if
        any hidden cell can still be pinned or narrowed below the protection interval.  With the
        analysis store ``a``, what its analysts' tables answer for the same date is part of the
        attacker's knowledge too: no hidden cell may be pinned by the two together."""
        from ..errors import JukiError
        from . import linked, linked_foreign, linked_movements, linked_single
        names = {t.name for t in self.all_tables()}
        if self.protect.method != "suppression" or not self.protect.threshold or not set(linked.FAMILY) <= names:
            return
        bounds = None
        if a is not None:
            from . import ckm, tablebuilder
            from .policy import load
            width = tablebuilder.rules().age_band
            fam = [self.find(n) for n in linked.FAMILY]
            bounds = linked.explorer_bounds(fam, tablebuilder.finest(a, self.ref, width), ckm.build(load().ptable),
                                            width)
        self.audit = linked.protect_release(self.all_tables(), protection, self.protect.threshold, bounds,
                                            self.earlier)
        self.audit.earlier_missing = self.earlier_missing
        linked_foreign.protect_into(self.audit, self.all_tables(), protection, self.protect.threshold)
        linked_movements.protect_into(self.audit, self.all_tables(), protection, self.protect.threshold)
        linked_single.protect_into(self.audit, self.all_tables(), protection, self.protect.threshold)
        linked.same_cells_same_fate(self.all_tables())
        if not self.audit.ok:
            raise JukiError(f"the release is refused: {len(self.audit.disclosed) + len(self.audit.pinned)} hidden "
                            "cell(s) of the linked tables (町域, 町丁字, 外国人住民, 人口動態) can still be narrowed by a "
                            "linear program over the published ones (and the analysts' tables)")
        self.shares = official.band_shares(self.find("three_bands_choiki"))

    def all_tables(self) -> list[StatTable]:
        return [t for ts in self.tables.values() for t in ts]

    def find(self, name: str) -> StatTable:
        return next(t for t in self.all_tables() if t.name == name)

    def headline(self) -> str:
        t = self.protect.threshold
        rule = f"{t}人以下は x（関連秘匿あり）" if t else "秘匿なし"
        return (f"**基準日**: {self.ref}（{to_wareki(self.ref)}）　**人口動態の期間**: "
                f"{movements.period_label(self.start, self.end)}　**秘匿の基準**: {rule}")

    def header(self) -> dict:
        t = self.protect.threshold
        return {"基準日": f"{self.ref}（{to_wareki(self.ref)}）",
                "人口動態の期間": movements.period_label(self.start, self.end),
                "秘匿の基準": f"{t}人以下の区分を x で秘匿し、関連秘匿を行う" if t else "秘匿なし（内部資料）"}

    def write(self, folder) -> list[Path]:
        """Every table as CSV (UTF-8 BOM) and the release as one workbook; in an internal run
        (below the floor: administrators only), the exact counts beside it in the internal
        workbook (:data:`INTERNAL_WORKBOOK`) -- never in a release an analyst or a schedule makes."""
        folder = Path(folder)
        out = [t.write_csv(folder) for t in self.all_tables()]
        out.append(excel.write(folder / WORKBOOK, self.all_tables(), self.header()))
        if not self.protect.internal:
            return out
        exact = {}
        if self.survey_rows is not None:
            exact["人口、世帯数、人口動態（市区町村別）"] = self.survey_rows
        exact["人口の増減の検証"] = self.balance
        out.append(excel.write(folder / INTERNAL_WORKBOOK, [], {"区分": f"{excel.INTERNAL}（正確な数: 県への報告と検証用）",
                                                               **self.header()}, exact))
        return out
