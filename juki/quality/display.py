"""What ``01_data_quality`` shows of a review: the headline and the tables, in Japanese."""
from __future__ import annotations

import pandas as pd

from .outcome import SUMMARY, VIOLATIONS, Review
from .rules import get_rule

_ENGINE_NAMES = {"duckdb": "DuckDB", "pyspark": "Spark"}


def headline(rv: Review) -> str:
    from ..codes.era import to_wareki
    s = rv.summary()
    failing = s[s["不適合件数"] > 0]
    return (f"**基準日**: {rv.as_of}（{to_wareki(rv.as_of)}）　**対象**: {'、'.join(s['ファイル'].unique())}　"
            f"**住民数**: {rv.residents:,}　**ルール数**: {len(s)}（うち未評価 {len(rv.not_evaluated)}）　"
            f"**不適合のあるルール**: {len(failing)}　**不適合件数(延べ)**: {int(s['不適合件数'].sum()):,}")


def failing_table(rv: Review) -> pd.DataFrame:
    s = rv.summary()
    f = s[s["不適合件数"] > 0].drop(columns=["ルール", "評価"])
    return f.reset_index(drop=True) if len(f) else pd.DataFrame({"結果": ["すべてのルールに適合しています。"]})


def not_evaluated_table(rv: Review) -> pd.DataFrame:
    if not rv.not_evaluated:
        return pd.DataFrame({"結果": ["すべてのルールを評価しました。"]})
    return pd.DataFrame([{"内容": get_rule(rid).description, "理由": why} for rid, why in rv.not_evaluated.items()])


def all_rules_table(rv: Review) -> pd.DataFrame:
    return rv.summary().drop(columns=["ルール"])


def timing_note(rv: Review) -> str:
    engine = _ENGINE_NAMES.get(rv.timings.get("engine"), "DuckDB")
    return (f"{engine}でのルール評価 {rv.timings.get('rules_s', 0):.1f} 秒、Great Expectationsでの検証 "
            f"{rv.timings.get('gx_validate_s', 0):.1f} 秒。不適合の全件の行キーは {VIOLATIONS} に、"
            f"ルールごとの件数は {SUMMARY} に出力した。")
