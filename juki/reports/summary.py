"""The manager summary: key figures, changes since the last report, open data-quality
issues and purges due -- counts only, read from the other reports of the same run."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from ..stats.population import summary as stats_summary


def key_figures(a, as_of: dt.date) -> dict:
    s = stats_summary(a, as_of)["値"]
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
    from ..errors import JukiError
    from ..layouts import get
    from ..quality.review import Review
    from ..quality.rules import get_rule
    try:
        rv = Review.load(Path(report_dir) / "01_data_quality")
    except JukiError:
        return pd.DataFrame({"状況": ["データ品質レビューの結果がありません（失敗または未実行）"]})
    rows = [{"ファイル": get(get_rule(rid).table).file, "内容": get_rule(rid).description,
             "重要度": get_rule(rid).severity_label, "件数": n} for rid, n in rv.counts().items() if n]
    return pd.DataFrame(rows) if rows else pd.DataFrame({"状況": ["未解決の不適合はありません"]})


def purges_due(report_dir: str) -> pd.DataFrame:
    from ..errors import JukiError
    from ..retention import PurgeResult
    try:
        res = PurgeResult.load(Path(report_dir) / "03_retention_purge")
    except JukiError:
        return pd.DataFrame({"状況": ["保存期間の確認結果がありません（失敗または未実行）"]})
    return pd.DataFrame([{"内容": r.description, "対象件数": r.due} for r in res.rules if not r.skipped])


def write(figures: dict, folder: Path) -> Path:
    from ..atomic import atomic_write_json
    return atomic_write_json(Path(folder) / "key_figures.json", figures)
