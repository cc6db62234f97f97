"""``juki report --as-of DATE``: the scheduled manager reports in one folder with an index.

The notebooks run into a hidden folder ``reports/.<as_of>.building-<pid>``; the index is
written last and the folder is then renamed to ``reports/<as_of>/`` (an earlier report of the
same date is replaced only then).  A failed notebook appears in the index as failed and the
command exits non-zero, so a half report never looks complete.
"""
from __future__ import annotations

import contextlib
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

REPORTS = [
    ("00_overview", "住民基本台帳 概要"),
    ("01_data_quality", "データ品質レビュー"),
    ("02_population_statistics", "人口・人口動態及び世帯数"),
    ("03_retention_purge", "保存期間を経過した記録（確認のみ）"),
    ("04_manager_summary", "管理者向けサマリー"),
    ("05_access_audit", "操作ログの点検（アクセス監査）"),
]


def previous_summary(base: Path, as_of: dt.date) -> Path | None:
    """The key figures of the latest earlier report, for "changes since the last report"."""
    best = None
    for p in base.glob("*/key_figures.json"):
        with contextlib.suppress(ValueError):
            d = dt.date.fromisoformat(p.parent.name)
            if d < as_of and (best is None or d > best[0]):
                best = (d, p)
    return best[1] if best else None


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
    from ..audit import guard
    base = Path(reports_dir) if reports_dir else paths.reports()
    with guard.entry("report", as_of.isoformat(), params={"as_of": as_of.isoformat()}, flag=flag) as g:
        precheck(db)
        atomic.private_dir(base)
        work = base / f".{as_of.isoformat()}.building-{os.getpid()}"
        if work.exists():
            shutil.rmtree(work)
        atomic.private_dir(work)
        prev = previous_summary(base, as_of)
        entries = []
        try:
            from .. import store
            from ..analysis.publish import publish
            if progress:
                progress.line(f"report {as_of}: publishing the analysis store")
            analysis = paths.analysis_db(store.db_path(db) if db else None)
            publish(db=db, as_of=as_of, out=analysis)
            for nb, title in REPORTS:
                if progress:
                    progress.line(f"report {as_of}: {title} ({nb})")
                params = [("dry_run", "true")] if nb == "03_retention_purge" else []
                extra = {"as_of": as_of.isoformat(), "report_dir": str(work), "previous": str(prev) if prev else ""}
                if nb == "05_access_audit":
                    extra = {"period_end": as_of.isoformat()}
                from .runner import resolve, spec
                nb_db = str(analysis) if spec(resolve(nb)).store == "analysis" else db
                res = run_notebook(nb, params, db=nb_db, reports_dir=work, folder_name=nb, extra=extra)
                entries.append((nb, title, res))
            ok = all(r.ok for _, _, r in entries)
            kf = work / "04_manager_summary" / "key_figures.json"
            if kf.exists():
                shutil.copy2(kf, work / "key_figures.json")
            _write_index(work, as_of, entries, ok)
            final = base / as_of.isoformat()
            if not ok and _good(final):
                final = base / f"{as_of.isoformat()}.failed-{dt.datetime.now():%Y%m%d-%H%M%S}"
                os.replace(work, final)
            else:
                old = None
                if final.exists():
                    old = base / f".{as_of.isoformat()}.old-{os.getpid()}"
                    os.replace(final, old)
                os.replace(work, final)
                if old:
                    shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        g.detail = "complete" if ok else "incomplete"
        if not ok:
            g.outcome = "failed"
    return final, ok


def _write_index(folder: Path, as_of: dt.date, entries, ok: bool) -> None:
    rows = []
    for _nb, title, res in entries:
        rel = res.folder.name
        if res.ok:
            link = f'<a href="{html.escape(rel)}/{html.escape(res.html.name)}">{html.escape(title)}</a>'
            state = '<span class="ok">正常終了</span>'
        else:
            link = f'{html.escape(title)}（<a href="{html.escape(rel)}/status.json">状況</a>）'
            state = f'<span class="ng">失敗</span> {html.escape(res.error or "")}'
        rows.append(f"<tr><td>{link}</td><td>{state}</td><td>{res.seconds:.1f} 秒</td></tr>")
    now = dt.datetime.now()
    banner = ("" if ok else '<p class="ng banner">一部のレポートの作成に失敗しました。'
              "このレポートは不完全です。</p>")
    page = f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>定期レポート {as_of}</title>
<style>
body {{ font-family: "IPAexGothic", "Noto Sans CJK JP", sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #bbb; padding: .4em .8em; }}
th {{ background: #eef; }} .ok {{ color: #1a7f37; }} .ng {{ color: #c00; font-weight: bold; }}
.banner {{ border: 2px solid #c00; padding: .6em; }}
</style></head><body>
<h1>住民基本台帳 定期レポート</h1>
<p>基準日: {as_of.isoformat()}（{to_wareki(as_of)}）　作成日時: {now:%Y-%m-%d %H:%M}（{to_wareki(now.date())}）</p>
{banner}
<table><tr><th>レポート</th><th>状況</th><th>所要時間</th></tr>
{''.join(rows)}
</table>
<p>このレポートは合成データまたは庁内の閉域網内のデータから作成され、外部への通信を行いません。
個人番号・氏名・住所は表示していません。</p>
</body></html>
"""
    from .fonts import embed
    atomic.atomic_write_text(folder / "index.html", embed(page))
    atomic.atomic_write_json(folder / "report_status.json",
                             {"as_of": as_of.isoformat(), "ok": ok,
                              "reports": [{"notebook": nb, "ok": r.ok, "error": r.error, "folder": r.folder.name}
                                          for nb, _, r in entries]})
