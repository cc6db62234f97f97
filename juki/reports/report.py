"""``juki report --as-of DATE``: the scheduled manager reports in one folder with an index.

The notebooks run into a hidden folder ``reports/.<as_of>.building-<pid>``; the index is
written last and the folder is then renamed to ``reports/<as_of>/`` (an earlier report of the
same date is replaced only then).  A failed notebook appears in the index as failed and the
command exits non-zero, so a half report never looks complete.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
from pathlib import Path

from .. import atomic, paths
from ..codes.era import to_wareki
from ..errors import JukiError
from .runner import run_notebook

#: The notebooks of a monthly report, in the order they run (the manager summary reads the
#: others' outputs, so it runs last); the index lists them in this order too.
REPORTS = [
    ("00_overview", "住民基本台帳 概要"),
    ("01_data_quality", "データ品質レビュー"),
    ("02_population_statistics", "人口・人口動態及び世帯数"),
    ("03_retention_purge", "保存期間を経過した記録（確認のみ）"),
    ("05_access_audit", "操作ログの点検（アクセス監査）"),
    ("06_self_inspection", "自己点検（評価書どおりの運用）"),
    ("04_manager_summary", "管理者向けサマリー"),
]
#: Notebooks only some operators run in the report (others skip them, and the index says so).
ONLY_FOR = {"06_self_inspection": "self_inspection"}
#: How the report runs: phases one after another; within a phase, lanes side by side (each lane's
#: notebooks one after another).  The statistics take longest, so the other readers of the store
#: run beside them; the audits then see every run of the report in the log; the summary is last.
PHASES = [
    [["02_population_statistics"], ["00_overview", "01_data_quality", "03_retention_purge"]],
    [["05_access_audit"], ["06_self_inspection"]],
    [["04_manager_summary"]],
]


def workers() -> int:
    """Lanes run at once: ``JUKI_REPORT_WORKERS``, else 2 where the machine has 2 cores or more."""
    try:
        n = int(os.environ.get("JUKI_REPORT_WORKERS", "0"))
    except ValueError:
        raise JukiError("JUKI_REPORT_WORKERS: give a whole number") from None
    return n if n > 0 else min(2, os.cpu_count() or 1)


def precheck(db) -> None:
    """Before anything runs: the store exists and holds the 住民基本台帳ファイル."""
    from .. import store
    path = store.db_path(db)
    if not path.exists():
        raise JukiError(f"no store at {path}: run 'juki generate' or 'juki load' first (or set --db / JUKI_DB)")
    con = store.open_duckdb(path)
    try:
        if not store.row_counts(con)["jumin"]:
            raise JukiError(f"the store at {path} holds no 住民基本台帳ファイル: load it first ('juki load')")
    finally:
        con.close()


def _good(folder: Path) -> bool:
    status = folder / "report_status.json"
    return folder.is_dir() and status.exists() and json.loads(status.read_text(encoding="utf-8")).get("ok", False)


def build(as_of: dt.date, db=None, reports_dir=None, flag: str | None = None, progress=None) -> tuple[Path, bool]:
    """Run the monthly reports into ``reports/<as_of>/``; a failed run never replaces a good one
    (it is kept beside it as ``<as_of>.failed-<time>``)."""
    from ..access import guard
    base = Path(reports_dir) if reports_dir else paths.reports()
    with guard.entry("report", as_of.isoformat(), params={"as_of": as_of.isoformat()}, flag=flag) as g:
        precheck(db)
        atomic.private_dir(base)
        work = base / f".{as_of.isoformat()}.building-{os.getpid()}"
        if work.exists():
            shutil.rmtree(work)
        atomic.private_dir(work)
        entries, skipped = [], []
        try:
            ok = _run_all(as_of, db, work, entries, skipped, progress)
            final = _finish(base, work, as_of, entries, skipped, ok)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        g.detail = "complete" if ok else "incomplete"
        if not ok:
            g.outcome = "failed"
    return final, ok


def _run_all(as_of, db, work: Path, entries: list, skipped: list, progress) -> bool:
    from .. import store
    from ..access import guard
    from ..analysis.publish import publish
    from .runner import resolve, spec
    if progress:
        progress.line(f"report {as_of}: publishing the analysis store")
    from concurrent.futures import ThreadPoolExecutor
    analysis = paths.analysis_db(store.db_path(db) if db else None)
    publish(db=db, as_of=as_of, out=analysis)
    titles = dict(REPORTS)
    done = {}

    def lane(notebooks):
        for nb in notebooks:
            if nb in ONLY_FOR and not guard.has_role(ONLY_FOR[nb]):
                continue
            if progress:
                progress.line(f"report {as_of}: {titles[nb]} ({nb})")
            params = {"01_data_quality": [("record_followup", "true")], "03_retention_purge": [("dry_run", "true")]}.get(nb, [])
            # the log is audited up to the day the report is made (its period ends today, not on as_of)
            extra = {} if nb in ("05_access_audit", "06_self_inspection") else {"as_of": as_of.isoformat(),
                                                                              "report_dir": str(work)}
            nb_db = str(analysis) if spec(resolve(nb)).store == "analysis" else db
            done[nb] = run_notebook(nb, params, db=nb_db, reports_dir=work, folder_name=nb, extra=extra)

    with ThreadPoolExecutor(max_workers=workers()) as pool:
        for phase in PHASES:
            for f in [pool.submit(lane, lanes) for lanes in phase]:
                f.result()
    for nb, title in REPORTS:
        if nb in done:
            entries.append((nb, title, done[nb]))
        else:
            skipped.append((nb, title))
    return all(r.ok for _, _, r in entries)


def _finish(base: Path, work: Path, as_of: dt.date, entries, skipped, ok: bool) -> Path:
    from . import ledger, summary
    failed = {nb for nb, _, r in entries if not r.ok}
    figures = summary.read(work / summary.FOLDERS["summary"])
    prev = ledger.previous(base, as_of)
    lines = summary.headline(work, figures, prev[1] | {"as_of": prev[0]} if prev else None, failed)
    if figures:
        atomic.atomic_write_json(work / summary.FIGURES, figures)
    _write_index(work, as_of, entries, skipped, lines, ok, prev[0] if prev else None)
    final = base / as_of.isoformat()
    if not ok and _good(final):
        return atomic.move_dir(work, base / f"{as_of.isoformat()}.failed-{dt.datetime.now():%Y%m%d-%H%M%S}")
    atomic.swap_dir(work, final)
    if ok and figures:
        ledger.record(base, figures)
    return final


def _write_index(folder: Path, as_of: dt.date, entries, skipped, lines, ok: bool, previous: str | None) -> None:
    from . import summary
    from .display import CSS, STATUS
    rows = []
    for _nb, title, res in entries:
        rel = res.folder.name
        if res.ok:
            link = f'<a href="{html.escape(rel)}/{html.escape(res.html.name)}">{html.escape(title)}</a>'
            state = '<span class="ok">正常終了</span>'
        else:
            link = f'{html.escape(title)}（<a href="{html.escape(rel)}/status.json">状況</a>）'
            state = f'<span class="ng">失敗（不完全）</span> {html.escape(res.error or "")}'
        rows.append(f"<tr><td>{link}</td><td>{state}</td><td class='num'>{res.seconds:,.1f} 秒</td></tr>")
    for _nb, title in skipped:
        rows.append(f"<tr><td>{html.escape(title)}</td><td>実行せず（管理者のみ）</td><td class='num'>—</td></tr>")
    now = dt.datetime.now()
    banner = ("" if ok else '<p class="banner">一部のレポートの作成に失敗しました。このレポートは不完全です。</p>')
    heads = []
    for x in lines:
        colour, word = STATUS[x.status]
        heads.append(f'<tr class="st-{x.status}"><td><a href="{html.escape(x.link)}">{html.escape(x.area)}</a></td>'
                     f'<td class="st" style="color:{colour}">■ {word}</td>'
                     f'<td class="num">{html.escape(x.value)}</td><td class="num">{html.escape(x.change)}</td>'
                     f'<td>{html.escape(x.note)}</td></tr>')
    prev = f"前回のレポート: {previous}" if previous else "前回のレポートなし"
    page = f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>定期レポート {as_of}</title>
<style>
body {{ font-family: "IPAexGothic", "Noto Sans CJK JP", sans-serif; margin: 2em; color: #222; max-width: 70em; }}
table.head, table.runs {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
table.head td, table.head th, table.runs td, table.runs th {{ border: 1px solid #bbb; padding: .35em .7em; font-size: 13px; }}
th {{ background: #eef1f8; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.st {{ font-weight: bold; white-space: nowrap; }} tr.st-red {{ background: #fde8e8; }} tr.st-amber {{ background: #fff6e0; }}
.ok {{ color: #1a7f37; }} .ng {{ color: #c00; font-weight: bold; }}
.banner {{ border: 2px solid #c00; color: #c00; font-weight: bold; padding: .6em; }}
{CSS}
</style></head><body>
<h1>住民基本台帳 定期レポート</h1>
<p>基準日: {as_of.isoformat()}（{to_wareki(as_of)}）　{prev}　作成日時: {now:%Y-%m-%d %H:%M}（{to_wareki(now.date())}）</p>
{banner}
<h2>要点</h2>
<table class="head"><tr><th>項目</th><th>状況</th><th>値</th><th>前回からの変化</th><th>説明</th></tr>
{''.join(heads)}
</table>
<h2>レポート</h2>
<table class="runs"><tr><th>レポート</th><th>状況</th><th>所要時間</th></tr>
{''.join(rows)}
</table>
<p>このレポートは庁内の閉域網の中で作成され、外部への通信を行いません。個人番号・氏名・住所は表示していません。</p>
</body></html>
"""
    from .fonts import embed
    atomic.atomic_write_text(folder / "index.html", embed(page))
    atomic.atomic_write_json(folder / "report_status.json",
                             {"as_of": as_of.isoformat(), "ok": ok, "headline": summary.lines_json(lines),
                              "skipped": [nb for nb, _ in skipped],
                              "reports": [{"notebook": nb, "ok": r.ok, "error": r.error, "folder": r.folder.name,
                                           "seconds": round(r.seconds, 1)} for nb, _, r in entries]})
