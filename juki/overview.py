"""What the store holds, for ``00_overview``: files, loads, quarantine, residents (不詳 included).

Counts only: nothing here shows a person.  Residents are :mod:`juki.residency`'s, and a
resident whose 町丁字 or birth date is unknown is counted and shown as 不詳, never dropped.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from . import engine, residency, store
from .codes.era import to_wareki
from .layouts import CLASSES, LAYOUTS

AGE_BANDS = [f"{a}～{a + 4}歳" for a in range(0, 100, 5)] + ["100歳以上"]
UNKNOWN = "不詳"


class Overview:
    def __init__(self, db, as_of: dt.date):
        self.db = db
        self.as_of = as_of
        self.con = store.open_duckdb(db)
        self.meta = store.meta(self.con)
        self.ib = engine.backend(self.con)

    def headline(self) -> str:
        src = self.meta.get("source", "取込み")
        kind = "合成データ" if src == "synthetic" else ("取込みデータ" if src == "load" else str(src))
        return (f"**基準日**: {self.as_of.isoformat()}（{to_wareki(self.as_of)}） / データ: {kind}"
                + (f" / 最終取込み: {self.meta['loaded_at']}" if self.meta.get("loaded_at") else ""))

    def files(self) -> pd.DataFrame:
        counts = store.row_counts(self.con)
        return pd.DataFrame([{"ファイル": lay.file, "記録項目数": len(lay.items), "行数": counts[t],
                              "状況": "あり" if counts[t] else "なし（未取込み）"}
                             for t, lay in LAYOUTS.items()]).set_index("ファイル")

    def loads(self) -> pd.DataFrame:
        df = (self.ib.table("load_log").order_by("loaded_at")
              .select("loaded_at", "source_file", "target_table", "encoding", "profile", "rows_read", "rows_loaded",
                      "rows_quarantined", "operator", "as_of", "derived").to_pandas())
        if not len(df):
            return pd.DataFrame({"取込みの記録": ["なし（合成データまたは取込み前）"]})
        df["target_table"] = df["target_table"].map(lambda t: LAYOUTS[t].file if t in LAYOUTS else t)
        return df.rename(columns={"loaded_at": "取込み日時", "source_file": "ファイル名", "target_table": "対象",
                                  "encoding": "文字コード", "profile": "項目名の対応", "rows_read": "読込み行数",
                                  "rows_loaded": "取込み行数", "rows_quarantined": "隔離行数", "operator": "実行者",
                                  "as_of": "基準日", "derived": "補った項目"})

    def quarantine(self) -> pd.DataFrame:
        import ibis
        q = self.ib.table("quarantine")
        df = q.group_by("target_table", "reason").aggregate(n=q.count()).order_by(ibis.desc("n")).to_pandas()
        if not len(df):
            return pd.DataFrame({"隔離した行": ["なし"]})
        df["target_table"] = df["target_table"].map(lambda t: LAYOUTS[t].file if t in LAYOUTS else t)
        return df.rename(columns={"target_table": "対象", "reason": "理由", "n": "行数"})

    def _residents(self):
        return residency.resident_ages(self.ib.table("jumin"), self.as_of)

    def population(self) -> pd.DataFrame:
        t = self._residents()
        r = t.aggregate(total=t.count(), jp=t.kokuseki.isnull().sum(), fo=t.kokuseki.notnull().sum(),
                        hh=t.setai_no.nunique(), no_town=t.town_code.isnull().sum(),
                        no_age=t.age.isnull().sum()).to_pandas().iloc[0]
        rows = {"総人口": r["total"], "日本人住民": r["jp"], "外国人住民": r["fo"], "世帯数": r["hh"],
                "うち町丁字が不詳": r["no_town"], "うち年齢が不詳": r["no_age"]}
        return pd.DataFrame({"値": pd.Series({k: int(v) for k, v in rows.items()}, dtype=object)})

    def pyramid(self) -> pd.DataFrame:
        import ibis
        t = self._residents()
        t = t.filter(t.age.notnull())
        df = t.group_by(band=ibis.least(t.age // 5, 20), seibetsu=t.seibetsu).aggregate(n=t.count()).to_pandas()
        out = pd.DataFrame(0, index=pd.Index(AGE_BANDS, name="年齢"), columns=["男", "女"])
        for band, sex, n in df.itertuples(index=False):
            out.iloc[int(band), 0 if sex == "1" else 1] += int(n)
        return out

    def layouts(self):
        for lay in LAYOUTS.values():
            yield (f"{lay.file}（{len(lay.items)}項目）",
                   pd.DataFrame([{"No.": i.no, "項目名": i.name, "列名": i.column, "型": i.type,
                                  "区分": CLASSES[i.sensitivity], "コード表": i.code or ""} for i in lay.items]).set_index("No."))


__all__ = ["Overview", "AGE_BANDS", "UNKNOWN"]
