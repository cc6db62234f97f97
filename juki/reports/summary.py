"""The manager summary: key figures, changes since the last report, open data-quality
issues and purges due -- counts only, read from the other reports of the same run."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from ..privacy import Deidentified
from ..stats import summary as stats_summary


def key_figures(deid: Deidentified, as_of: dt.date) -> dict:
    s = stats_summary(deid.residents(as_of))["値"]
    return {"as_of": as_of.isoformat(), **{k: (v.item() if hasattr(v, "item") else v) for k, v in s.items()}}


def changes(current: dict, previous_path: str | None) -> pd.DataFrame:
    prev = json.loads(Path(previous_path).read_text(encoding="utf-8")) if previous_path and Path(previous_path).exists() else None
    rows = []
    for k, v in current.items():
        if k == "as_of":
            continue
        p = prev.get(k) if prev else None
        rows.append({"項目": k, "今回": v, "前回": p, "増減": (v - p) if p is not None else None})
    df = pd.DataFrame(rows).set_index("項目").astype(object).fillna("—")
    df.attrs["previous_as_of"] = prev.get("as_of") if prev else None
    return df


def open_quality_issues(report_dir: str) -> pd.DataFrame:
    p = Path(report_dir) / "01_data_quality" / "dq_summary.json"
    if not p.exists():
        return pd.DataFrame({"状況": ["データ品質レビューの結果がありません（失敗または未実行）"]})
    d = json.loads(p.read_text(encoding="utf-8"))
    rows = [{"ルール": r["rule"], "ファイル": r["file"], "内容": r["description"],
             "重要度": "警告" if r["severity"] == "alert" else "誤り", "件数": r["failing"]}
            for r in d["rules"] if r["failing"]]
    return pd.DataFrame(rows) if rows else pd.DataFrame({"状況": ["未解決の不適合はありません"]})


def purges_due(report_dir: str) -> pd.DataFrame:
    p = Path(report_dir) / "03_retention_purge" / "purge_record.json"
    if not p.exists():
        return pd.DataFrame({"状況": ["保存期間の確認結果がありません（失敗または未実行）"]})
    d = json.loads(p.read_text(encoding="utf-8"))
    return pd.DataFrame([{"ルール": r["rule"], "内容": r["description"], "対象件数": r["due"]} for r in d["rules"]
                         if not r.get("skipped")])


def write(figures: dict, folder: Path) -> Path:
    p = Path(folder) / "key_figures.json"
    p.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return p
