"""Retention: the policy (rules as data, business-day calendar) and purges that prove what
they did.  See :mod:`.policy` and :mod:`.purge`."""
from __future__ import annotations

from .policy import Policy, RetentionRule, load  # noqa: F401
from .purge import PurgeResult, apply, plan  # noqa: F401


def headline(result: PurgeResult) -> str:
    from ..codes.era import to_wareki
    mode = "確認のみ（dry run）" if result.dry_run else "実行"
    text = f"**基準日**: {result.as_of}（{to_wareki(result.as_of)}）　**モード**: {mode}"
    if not result.dry_run:
        text += f"　**指示者**: {result.operator}　**ストアの書き直し**: {'あり' if result.changed else 'なし（対象なし）'}"
    return text


def counts_table(result: PurgeResult):
    import pandas as pd

    from ..layouts import LAYOUTS
    names = {t: LAYOUTS[t].file for t in LAYOUTS} | {"jumin_joshu": "除票ストア", "quarantine": "隔離した行"}
    return pd.DataFrame({"実行前": result.before, "実行後": result.after}).rename(index=names)
