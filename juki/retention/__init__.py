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


def breaches(result: PurgeResult, policy: Policy | None = None) -> list[tuple[str, str]]:
    """Status lines for the page: 送付先情報 past its one-business-day deadline is a breach of the
    PIA (red, with the command that fixes it); other rows due are the monthly purge's work."""
    import datetime as dt

    policy = policy or load(None)
    out = []
    for r in result.rules:
        if r.skipped or not r.due:
            continue
        if r.rule == "sofusaki_sent":
            days = policy.rule(r.rule).days_overdue(dt.date.fromisoformat(r.oldest), result.as_of) if r.oldest else 0
            verb = "残っている" if result.dry_run else "残っていた（今回消去した）"
            out.append(("red", f"評価書の違反: 送付後1開庁日を過ぎた送付先情報が {r.due:,}件{verb}（最大 {days}開庁日超過）。"
                               "消去: juki purge --only sofusaki_sent"))
    due = sum(r.due for r in result.rules if not r.skipped and r.rule != "sofusaki_sent")
    if due and result.dry_run:
        out.append(("amber", f"保存期間を経過した記録 {due:,}件（除票の移動・消去等）: 月次の juki purge で処理する"))
    if not out:
        out.append(("green", "期限を過ぎた送付先情報はない" + ("（他の規則の対象もない）" if not due else "")))
    return out


def counts_table(result: PurgeResult):
    import pandas as pd

    from ..layouts import LAYOUTS
    names = {t: LAYOUTS[t].file for t in LAYOUTS} | {"jumin_joshu": "除票ストア", "quarantine": "隔離した行",
                                                          "load_log": "取込みの記録", "purge_log": "消去の記録"}
    return pd.DataFrame({"実行前": result.before, "実行後": result.after}).rename(index=names)
