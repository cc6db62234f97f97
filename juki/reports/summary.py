"""What a manager reads in one minute: the key figures with their change since the last report,
each area's status (green / amber / red), trends, the quality follow-up, retention breaches.

Counts only.  The figures of the population come from the analysis store; the others are read
back from the notebooks of the same report run (:class:`~juki.quality.outcome.Review`,
:class:`~juki.quality.followup.FollowUp`, :class:`~juki.retention.PurgeResult`, the access
audit's findings, the self-inspection) by the modules that write them.  The same
:func:`headline` rows head the index page and the manager summary.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..errors import JukiError

FIGURES = "key_figures.json"
#: The notebooks' folders inside a report run.
FOLDERS = {"quality": "01_data_quality", "retention": "03_retention_purge", "audit": "05_access_audit",
           "inspection": "06_self_inspection", "summary": "04_manager_summary", "statistics": "02_population_statistics"}
FIX_SOFUSAKI = "juki purge --only sofusaki_sent"


def key_figures(a, as_of: dt.date) -> dict:
    """総人口, 日本人住民, 外国人住民, 世帯数 on ``as_of`` and the month's 記載 / 消除 (residency's
    transitions with an effective date after the previous month's reference date)."""
    from ..stats.population import summary as stats_summary
    s = stats_summary(a, as_of)["値"]
    out = {"as_of": as_of.isoformat()}
    for k in ("総人口", "日本人住民", "外国人住民", "世帯数"):
        out[k] = int(s[k])
    prev = _month_before(as_of)
    e = a.con.table("events")
    e = e.filter((e.eff_date > prev) & (e.eff_date <= as_of))
    r = e.aggregate(kisai=(~e.resident_before & e.resident_after).sum(),
                    shojo=(e.resident_before & ~e.resident_after).sum()).to_pandas().iloc[0]
    out["記載"] = int(r["kisai"] or 0)
    out["消除"] = int(r["shojo"] or 0)
    return out


def _month_before(d: dt.date) -> dt.date:
    m = d.year * 12 + d.month - 2
    y, mo = m // 12, m % 12 + 1
    import calendar
    return dt.date(y, mo, min(d.day, calendar.monthrange(y, mo)[1]))


def run_figures(report_dir) -> dict:
    """The counts the other notebooks of this run produced (quality, retention, audit)."""
    out = {}
    base = Path(report_dir) if report_dir else None
    if base is None:
        return out
    f = _followup(base)
    if f is not None:
        t = f.totals()
        out.update({"品質の新規": t["new"], "品質の継続": t["open"], "品質の解消": t["resolved"],
                    "品質の未解決": t["new"] + t["open"]})
    s = _sofusaki(base)
    if s is not None:
        out["送付先の期限超過"] = s["rows"]
    return out


def write(figures: dict, folder: Path) -> Path:
    from ..atomic import atomic_write_json
    return atomic_write_json(Path(folder) / FIGURES, figures)


def read(folder) -> dict | None:
    p = Path(folder) / FIGURES
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


# ---------------------------------------------------------------- the headline

@dataclass
class Line:
    area: str
    value: str
    change: str
    status: str          # green | amber | red | grey
    note: str
    link: str            # the page it comes from, relative to the report folder


def _page(area: str) -> str:
    """The page of an area inside a report folder (the runner names it after the notebook)."""
    return f"{FOLDERS[area]}/{FOLDERS[area]}.html"


def _change(now, before) -> str:
    if before is None or now is None:
        return "—"
    d = now - before
    pct = f"（{100 * d / before:+.2f}%）" if before else ""
    return f"{d:+,}{pct}"


def headline(report_dir, figures: dict | None, previous: dict | None, failed: set | None = None) -> list[Line]:
    """One line per area of the report, with a status, from the run's own outputs."""
    base = Path(report_dir)
    failed = failed or set()
    prev = previous or {}
    lines = []
    pop_link = _page("summary")
    if figures:
        for k in ("総人口", "世帯数", "日本人住民", "外国人住民"):
            lines.append(Line(k, f"{figures[k]:,}", _change(figures[k], prev.get(k)), "green",
                              f"前回（{prev['as_of']}）から" if prev.get("as_of") else "前回のレポートなし", pop_link))
        lines.append(Line("記載・消除（前月から）", f"記載 {figures['記載']:,}／消除 {figures['消除']:,}", "—", "green",
                          "住民となった人・住民でなくなった人", pop_link))
    else:
        lines.append(Line("人口", "—", "—", "grey", "管理者向けサマリーがない（失敗）", pop_link))
    lines.append(_quality_line(base, failed))
    lines.append(_retention_line(base, failed))
    lines.append(_audit_line(base, failed))
    insp = _inspection_line(base, failed)
    if insp:
        lines.append(insp)
    return lines


def _quality_line(base: Path, failed: set) -> Line:
    link = _page("quality")
    f = _followup(base)
    if f is None or FOLDERS["quality"] in failed:
        return Line("データ品質", "—", "—", "grey", "データ品質レビューの結果がない（失敗または未実行）", link)
    from ..quality.rules import get_rule
    t = f.totals()
    errors_open = sum(int(r.open) for r in f.by_rule.itertuples(index=False) if get_rule(r.rule).severity == "error")
    status = "red" if errors_open else ("amber" if t["new"] or t["open"] else "green")
    old = f"、最も古いもの {f.oldest[2]}日前から" if f.oldest else ""
    return Line("データ品質（未解決の問題）", f"{t['new'] + t['open']:,}件",
                f"新規 {t['new']:,}／継続 {t['open']:,}／解消 {t['resolved']:,}", status,
                (f"前回（{f.previous}）から継続する重大な問題 {errors_open:,}件{old}" if errors_open else
                 f"新規 {t['new']:,}件{old}" if t["new"] or t["open"] else "不適合なし"), link)


def _sofusaki(base: Path) -> dict | None:
    from ..retention import PurgeResult
    from ..retention import load as load_policy
    try:
        res = PurgeResult.load(base / FOLDERS["retention"])
    except JukiError:
        return None
    r = next((r for r in res.rules if r.rule == "sofusaki_sent"), None)
    if r is None or r.skipped:
        return {"rows": 0, "days": 0}
    days = (load_policy(None).rule("sofusaki_sent").days_overdue(dt.date.fromisoformat(r.oldest), res.as_of)
            if r.due and r.oldest else 0)
    return {"rows": r.due, "days": days, "others": sum(x.due for x in res.rules if x.rule != "sofusaki_sent" and not x.skipped)}


def _retention_line(base: Path, failed: set) -> Line:
    link = _page("retention")
    s = _sofusaki(base)
    if s is None or FOLDERS["retention"] in failed:
        return Line("保存期間", "—", "—", "grey", "保存期間の確認結果がない（失敗または未実行）", link)
    if s["rows"]:
        return Line("送付先情報の消去（送付後1開庁日）", f"期限超過 {s['rows']:,}件", f"最大 {s['days']}開庁日超過", "red",
                    f"評価書の違反: 送付後1開庁日で削除する。直ちに `{FIX_SOFUSAKI}` を実行する", link)
    others = s.get("others", 0)
    return Line("保存期間", "期限超過なし" if not others else f"消去・移動の対象 {others:,}件", "—",
                "green" if not others else "amber",
                "送付先情報は期限内" + ("" if not others else "。除票等は月次の juki purge で処理する"), link)


def _audit_line(base: Path, failed: set) -> Line:
    from ..audit.access_audit import AccessAudit
    link = _page("audit")
    try:
        a = AccessAudit.load_findings(base / FOLDERS["audit"])
    except JukiError:
        return Line("アクセス監査", "—", "—", "grey", "アクセス監査の結果がない（失敗、または管理者以外の実行）", link)
    if not a["chain_ok"]:
        return Line("アクセス監査", "操作ログの検証: 異常", "—", "red", a["chain"], link)
    enum = a.get("search_enumeration", 0) + a.get("table_sweeps", 0)
    late = a.get("erasure_overdue", 0)
    n = a["refusals"] + a["off_hours_staff"] + a["broad_searches"] + enum + late
    return Line("アクセス監査", f"記録 {a['entries']:,}件", f"拒否 {a['refusals']:,}／時間外 {a['off_hours_staff']:,}／"
                f"広範な検索 {a['broad_searches']:,}／大量の検索・集計 {enum:,}"
                + (f"／委託先の消去期限超過 {late:,}" if late else ""), "red" if enum or late else "amber" if n else "green",
                "内容を確認する" if n else "操作ログの検証: 正常、確認を要する利用なし", link)


def _inspection_line(base: Path, failed: set) -> Line | None:
    from ..audit.selfinspect import BREACH, LOOK, SelfInspection
    folder = base / FOLDERS["inspection"]
    if not folder.exists():
        return None
    link = _page("inspection")
    try:
        si = SelfInspection.load(folder)
    except (OSError, ValueError, KeyError):
        return Line("自己点検", "—", "—", "grey", "自己点検の結果がない（失敗）", link)
    c = si.counts()
    return Line("自己点検（評価書どおりの運用）", f"不適合 {c[BREACH]}／要確認 {c[LOOK]}", f"{len(si.items)}項目",
                "red" if c[BREACH] else "amber" if c[LOOK] else "green",
                "不適合の項目を確認する" if c[BREACH] else "確認者の所見を記入する" if c[LOOK] else "すべて適合", link)


def headline_frame(lines: list[Line]) -> pd.DataFrame:
    from .display import STATUS
    return pd.DataFrame([{"項目": x.area, "状況": STATUS[x.status][1], "値": x.value, "変化": x.change, "説明": x.note}
                         for x in lines]).set_index("項目")


def lines_json(lines: list[Line]) -> list[dict]:
    return [asdict(x) for x in lines]


# ---------------------------------------------------------------- the other sections

def _followup(base: Path):
    from ..quality.followup import FollowUp
    try:
        return FollowUp.load(base / FOLDERS["quality"])
    except JukiError:
        return None


def quality_followup(report_dir) -> pd.DataFrame:
    f = _followup(Path(report_dir)) if report_dir else None
    if f is None:
        return pd.DataFrame({"状況": ["データ品質レビューの結果がありません（失敗または未実行）"]})
    return f.table()


def retention_table(report_dir) -> pd.DataFrame:
    """Per rule: rows due on the report date; 送付先情報 past its one-business-day deadline first."""
    from ..retention import PurgeResult
    try:
        res = PurgeResult.load(Path(report_dir) / FOLDERS["retention"])
    except JukiError:
        return pd.DataFrame({"状況": ["保存期間の確認結果がありません（失敗または未実行）"]})
    rows = []
    for r in res.rules:
        if r.skipped:
            continue
        breach = r.rule == "sofusaki_sent" and r.due
        rows.append({"規則": r.description, "状況": "要対応" if breach else ("注意" if r.due else "正常"),
                     "対象件数": r.due, "最も古い日付": r.oldest or "—",
                     "対処": FIX_SOFUSAKI if breach else ("月次の juki purge" if r.due else "—")})
    return pd.DataFrame(rows).set_index("規則")
