"""自己点検 (the PIA's yearly self-inspection): each promise the workbench can evidence, with the
PIA's own wording, the evidence gathered automatically, and a status.

PIA III 監査 ①自己点検: 「年に1回、担当部署内において、評価書の記載内容どおりの運用が行われているか
自己点検を実施する。」  The checks are declared as data (:data:`CHECKS`: the PIA's words, what is
checked, the function gathering the evidence).  A status is

* 適合 -- the evidence shows the promise kept over the period;
* 不適合 -- the evidence shows a breach (named, with counts -- never a personal value);
* 要確認 -- the workbench cannot decide alone (e.g. no record in the period); a person looks.

The result is kept with the run (``self_inspection.json`` and an .xlsx for the file, with a
sign-off block: 確認者, 日付) and read back by :meth:`SelfInspection.load`.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import atomic, paths

OK, BREACH, LOOK = "適合", "不適合", "要確認"
JSON = "self_inspection.json"
XLSX = "self_inspection.xlsx"
#: The longest silence the operation log may have: scheduled work (the daily 送付先 purge, the
#: monthly report) writes to it, so a longer gap means lost entries.
MAX_GAP_DAYS = 35
#: The operation log is kept at least this long (PIA: 操作ログ保持期間は、最低1年間とする).
LOG_MIN_DAYS = 366
#: Access rights are reviewed quarterly (PIA: 定期的(四半期に1度)に確認).
REVIEW_DAYS = 92
SCANNED = (".html", ".csv", ".json", ".txt", ".md", ".ipynb", ".xlsx", ".tsv")


@dataclass
class Context:
    start: dt.date
    end: dt.date
    db: Path | None
    reports: Path
    log: list = field(default_factory=list)          # operation-log entries (all)
    verified: tuple = (True, "")
    policy: object = None
    #: the date the store's rows are judged on: the period's end, or the store's own reference
    #: date when that is earlier (a store describing 1 April holds no row written after it, so
    #: its rows are not overdue by the months since)
    data_date: dt.date | None = None

    def in_period(self) -> list[dict]:
        return [e for e in self.log if self.start <= _day(e) <= self.end]


@dataclass
class Item:
    no: int
    area: str
    promise: str        # the PIA's wording
    check: str          # what the workbench checks
    status: str
    evidence: str


@dataclass(frozen=True)
class Check:
    area: str
    promise: str
    check: str
    gather: Callable[[Context], tuple[str, str]]


def _day(e: dict) -> dt.date:
    return dt.date.fromisoformat(e["at"][:10])


# ---------------------------------------------------------------- the checks

#: Uses that touch persons: each must say whom (PIA: どの個人に対して照会・異動・証明発行を行ったか).
PERSON_USES = ("search", "reveal", "export", "audit_read", "drilldown", "purge", "purge_sofusaki", "reconcile")


def log_chain(c: Context) -> tuple[str, str]:
    """The chain verifies, and every use in the period that touched records names the persons."""
    ok, msg = c.verified
    if not ok:
        return BREACH, f"連鎖と起点の検証: 異常（{msg}）"
    uses = [e for e in c.in_period() if e.get("action") in PERSON_USES and e.get("outcome") == "ok"
            and (e.get("records") or 0) > 0]
    blind = [e for e in uses if not e.get("persons") and not e.get("persons_count")]
    text = f"連鎖と起点の検証: 正常（{msg}）／個人を扱った利用 {len(uses):,}件"
    if blind:
        return BREACH, text + f"、うち対象者の記録がない利用 {len(blind)}件（番号 {', '.join(str(e['seq']) for e in blind[:10])}）"
    return OK, text + "、すべて対象者を記録"


def log_kept(c: Context) -> tuple[str, str]:
    es = [e for e in c.log if e.get("action") != "anchor"]
    if not es:
        return BREACH, "操作ログに記録がない"
    oldest, newest = _day(es[0]), _day(es[-1])
    notes = [f"記録 {len(es):,}件（{oldest}～{newest}）"]
    status = OK
    # the log must reach back to the period's start, unless it begins at the installation (seq 1)
    if oldest > c.start:
        if es[0].get("seq") == 1 and c.log[0].get("action") != "anchor":
            notes.append(f"設置（{oldest}）以降のすべての記録")
        else:
            status = BREACH
            notes.append(f"対象期間の始め（{c.start}）まで遡らない（最古 {oldest}、設置時からの記録でもない）")
    prunes = [e for e in es if e.get("action") == "audit_prune" and e.get("outcome") == "ok"]
    for e in prunes:
        before = dt.date.fromisoformat(e.get("params", {}).get("before", "1900-01-01"))
        if (_day(e) - before).days < LOG_MIN_DAYS - 1:
            status = BREACH
            notes.append(f"{_day(e)} の整理が1年未満の記録（{before}より前）を削除")
    if prunes:
        notes.append(f"整理 {len(prunes)}回（最終 {_day(prunes[-1])}）")
    days = [e for e in es if c.start <= _day(e) <= c.end]
    # silences inside the period, counted from the log's first entry (a new installation has none before it)
    first = max(c.start, oldest)
    edges = sorted(d for d in {first} | {_day(e) for e in days} | {min(c.end, dt.date.today())} if d >= first)
    worst = max(((b - a).days, a, b) for a, b in zip(edges, edges[1:])) if len(edges) > 1 else (0, None, None)
    if worst[0] > MAX_GAP_DAYS:
        status = BREACH
        notes.append(f"記録のない期間 {worst[0]}日（{worst[1]}～{worst[2]}、許容 {MAX_GAP_DAYS}日）")
    else:
        notes.append(f"最長の空白 {worst[0]}日（許容 {MAX_GAP_DAYS}日）")
    keep = c.policy.rule("oplog_erase")
    if keep.deadline(oldest) + dt.timedelta(days=31) < c.end:      # a month's grace for the monthly prune
        status = BREACH
        n, unit = keep.amount
        notes.append(f"保存期間（{n}{dict(y='年', d='日').get(unit, '開庁日')}）を過ぎた記録が残っている（最古 {oldest}）")
    return status, "／".join(notes)


def _audit_runs(c: Context) -> list[dict]:
    """Successful runs of the access audit (05_access_audit) up to the period's end."""
    return [e for e in c.log if e.get("action") == "run" and e.get("target") == "05_access_audit"
            and e.get("outcome") == "ok" and _day(e) <= c.end]


def log_reviewed(c: Context) -> tuple[str, str]:
    """A signed review of the log whose period lies in the inspection's (the access audit run by
    the scheduler prepares the material; it is not the review)."""
    from .signoff import signed
    runs = [e for e in _audit_runs(c) if _day(e) >= c.start]
    ok = [e for e in signed(c.log, "log", c.end) if e["params"]["period_end"] >= c.start.isoformat()]
    if not ok:
        return LOOK, (f"対象期間に署名された操作ログの点検（juki audit review --kind log）がない"
                      f"（アクセス監査の実行 {len(runs)}回は点検の資料であり点検ではない）")
    e = ok[-1]["params"]
    return OK, (f"署名された点検 {len(ok)}回（最終: {e['signed_by']}、{e['period_start']}～{e['period_end']}、"
                f"資料 sha256 {e['report_sha256'][:12]}…）")


def access_rights_review(c: Context) -> tuple[str, str]:
    """The last signed access-rights review: within a quarter of the period's end."""
    from .signoff import signed
    ok = signed(c.log, "access-rights", c.end)
    if not ok:
        return LOOK, "署名されたアクセス権限の確認（juki audit review --kind access-rights）の記録がない"
    p = ok[-1]["params"]
    last = dt.date.fromisoformat(p["period_end"])
    age = (c.end - last).days
    status = OK if age <= REVIEW_DAYS else LOOK
    return status, (f"最終確認 {p['period_start']}～{last}（{age}日前まで、四半期 = {REVIEW_DAYS}日以内）: "
                    f"{p['signed_by']}、{_day(ok[-1])} 署名")


def role_changes(c: Context) -> tuple[str, str]:
    """Grants, changes and revocations of roles in the period, each with its approval."""
    ch = [e for e in c.in_period() if e.get("action") == "role_change" and not (e.get("params") or {}).get("first_record")]
    if not ch:
        return OK, "対象期間に権限の付与・変更・失効なし"
    bare = [e for e in ch if not (e.get("params") or {}).get("approved_by")]
    text = f"権限の付与・変更・失効 {len(ch)}件"
    if bare:
        who = "、".join(sorted({e["params"].get("operator_id", "?") for e in bare}))[:200]
        return LOOK, text + f"／承認者の記録がない変更 {len(bare)}件（{who}）: 承認の記録を確認する"
    return OK, text + "／すべて承認者と承認日を記録"


def disabled_operators(c: Context) -> tuple[str, str]:
    from ..access import roles
    try:
        ops = roles.load()
    except roles.Refused as e:
        return LOOK, f"利用者ファイルを読めない: {e}"
    off = {o.id: o for o in ops.values() if not o.enabled}
    uses = [e for e in c.in_period() if e.get("operator") in off and e.get("outcome") == "ok"]
    late = [e for e in uses if off[e["operator"]].disabled_on and _day(e) > off[e["operator"]].disabled_on]
    undated = [e for e in uses if not off[e["operator"]].disabled_on]
    # one OS account per operator is enforced when the file is read (共用ユーザIDは発行せず)
    text = f"利用者 {len(ops)}名（OSアカウントは1人1つ）、うち無効 {len(off)}名"
    if late:
        return BREACH, text + f"／無効化の後の利用 {len(late)}件（{', '.join(sorted({e['operator'] for e in late}))}）"
    if undated:
        return LOOK, text + f"／無効の利用者の利用 {len(undated)}件（無効化の日 disabled_on が未設定）"
    refused = [e for e in c.in_period() if e.get("operator") in off and e.get("outcome") == "refused"]
    return OK, text + f"／無効の利用者の利用なし（拒否 {len(refused)}件）"


def two_of_four(c: Context) -> tuple[str, str]:
    """Every successful search named two of 氏名・住所・生年月日 at least (性別 does not count);
    with no search in the period there is nothing to judge."""
    s = [e for e in c.in_period() if e.get("action") == "search"]
    ok = [e for e in s if e.get("outcome") == "ok"]
    weak = [e for e in ok if len(set(e.get("params", {}).get("facts", [])) - {"sex", "性別"}) < 2]
    refused = [e for e in s if e.get("outcome") == "refused"]
    broad = [e for e in ok if "broad" in (e.get("flags") or [])]
    text = f"検索 {len(ok):,}件、拒否 {len(refused):,}件、該当者の多い検索 {len(broad):,}件"
    if weak:
        return BREACH, text + f"／2情報に満たない検索 {len(weak)}件（番号 {', '.join(str(e['seq']) for e in weak[:10])}）"
    if not ok:
        return LOOK, text + "／対象期間に検索がなく判定できない"
    return OK, text + "／すべて性別を除く2情報以上"


def exports_recorded(c: Context) -> tuple[str, str]:
    """Each export of the period with its entry in the register of recipients, in force on the
    day of the export; an export without one fails the item."""
    from ..ingest import recipients
    register = recipients.load()
    ex = [e for e in c.in_period() if e.get("action") == "export" and e.get("outcome") == "ok"]
    need = ("recipient", "purpose", "items")
    bad = [e for e in ex if not all(e.get("params", {}).get(k) for k in need) or "sha256" not in (e.get("detail") or "")]
    entries = [(e, register.get(str((e.get("params") or {}).get("register")))) for e in ex]
    unregistered = [e for e, r in entries if r is None or not r.in_force(_day(e))]
    with_number = [e for e in ex if e.get("number_accessed")]
    kinds = {}
    for _, r in entries:
        if r is not None:
            k = f"{r.name}（{r.kind}・{r.basis}）"
            kinds[k] = kinds.get(k, 0) + 1
    text = f"出力 {len(ex):,}件（個人番号を含む {len(with_number)}件）"
    listed = "、".join(f"{k} {n}件" for k, n in sorted(kinds.items()))
    if unregistered:
        return BREACH, text + f"／提供先・移転先台帳にない（または期間外の）宛先への出力 {len(unregistered)}件"
    if bad:
        return BREACH, text + f"／提供先・目的・項目・ファイルの値の記録がない出力 {len(bad)}件"
    return OK, text + "／すべて台帳の宛先へ、項目・件数・SHA-256を記録" + (f": {listed}" if listed else "")


def reconciled(c: Context) -> tuple[str, str]:
    """The last 整合性確認 of each side in the period (from the log) and its open differences
    (from the side's follow-up record beside the store)."""
    from ..reconcile import SIDES, followup_path
    runs = [e for e in c.in_period() if e.get("action") == "reconcile" and e.get("outcome") == "ok"]
    if not runs:
        return BREACH, "対象期間に整合性確認（juki reconcile）の記録がない"
    parts, still_open = [], 0
    for side, label in SIDES.items():
        mine = [e for e in runs if e.get("target") == side]
        if not mine:
            parts.append(f"{label.split('（')[0]}: 記録なし")
            continue
        n = 0
        p = followup_path(side, c.db) if c.db is not None else None
        if p is not None and p.exists():
            from ..quality import followup
            n = followup.open_count(p)
        still_open += n
        parts.append(f"{label.split('（')[0]}: 最終 {_day(mine[-1])}、未解消の相違 {n:,}件")
    text = "／".join(parts)
    if still_open or not any(e.get("target") == "kizon" for e in runs):
        return LOOK, text
    return OK, text


def _query(c: Context, *exprs) -> list[list]:
    """Rows of each ibis expression (a function of the store's backend) over the registry, read-only."""
    from .. import engine, store
    con = store.open_duckdb(c.db)
    try:
        b = engine.backend(con)
        return [[tuple(r.values()) for r in e(b).to_pyarrow().to_pylist()] for e in exprs]
    finally:
        con.close()


def _store_as_of(db: Path) -> dt.date | None:
    from .. import residency, store
    con = store.open_duckdb(db)
    try:
        return residency.store_as_of(con)
    finally:
        con.close()


def _sent_or_processed(b):
    s = b.table("sofusaki")
    return s.group_by(day=s.sent_date.coalesce(s.shori_date)).aggregate(n=s.count())


def _unsent(b):
    s = b.table("sofusaki")
    return s.aggregate(n=s.sent_date.isnull().sum().fill_null(0))


def _purges(b):
    p = b.table("purge_log")
    return p.order_by("purged_at").select(day=p.purged_at.date(), record=p.record)


def sofusaki_erased(c: Context) -> tuple[str, str]:
    if c.db is None or not c.db.exists():
        return LOOK, "住民記録ストアがない"
    # the clock runs from 送付日, or from 処理年月日 (the day of the 連携) where the row has none
    rows, [(waiting,)] = _query(c, _sent_or_processed, _unsent)
    today, rule = c.data_date, c.policy.rule("sofusaki_sent")
    overdue = [(n, rule.days_overdue(d, today)) for d, n in rows if d is not None and rule.deadline(d) <= today]
    if overdue:
        n = sum(x[0] for x in overdue)
        worst = max(x[1] for x in overdue)
        return BREACH, (f"{today}時点で送付後（送付日のない行は処理後）1開庁日を過ぎても残る行 {n:,}件"
                        f"（うち送付日なし {waiting:,}件以下、最大 {worst}開庁日超過）。"
                        "消去: juki purge --only sofusaki_sent")
    sent = sum(n for _, n in rows)
    return OK, f"{today}時点で期限を過ぎた行なし（期限内 {sent:,}件、うち送付日なし {waiting:,}件）"


def joshu_on_schedule(c: Context) -> tuple[str, str]:
    if c.db is None or not c.db.exists():
        return LOOK, "住民記録ストアがない"
    from ..retention import plan
    grace = c.data_date - dt.timedelta(days=31)     # a monthly purge may leave up to a month's rows due
    res = plan(c.db, grace, c.policy, only=None)
    late = [r for r in res.rules if not r.skipped and r.due and r.rule not in ("sofusaki_sent",)]
    text = "、".join(f"{r.rule} {r.due:,}件" for r in late)
    if late:
        return BREACH, f"{grace}の時点で期限を過ぎていた行が残っている: {text}（juki purge で処理）"
    return OK, f"{grace}の時点で期限を過ぎた行なし（除票の移動・消去、本人確認情報、隔離行）"


def purge_records(c: Context) -> tuple[str, str]:
    if c.db is None or not c.db.exists():
        return LOOK, "住民記録ストアがない"
    [got] = _query(c, _purges)
    inside = [(d, r) for d, r in got if c.start <= d <= c.end]
    if not inside:
        return LOOK, f"対象期間の消去記録がない（記録は全体で {len(got)}件）"
    rows = 0
    for _, r in inside:
        try:
            rows += sum(x.get("due", 0) for x in json.loads(r).get("rules", []))
        except (ValueError, AttributeError):
            pass
    return OK, f"消去記録 {len(inside)}件（最終 {inside[-1][0]}、消去・移動 {rows:,}行）"


def no_number_in_outputs(c: Context) -> tuple[str, str]:
    hits, scanned = scan_for_numbers(c.reports)
    if hits:
        where = ", ".join(f"{p} ({n}件)" for p, n in list(hits.items())[:5])
        return BREACH, f"{scanned:,}ファイルを走査: 有効な個人番号を含むファイル {len(hits)}件: {where}"
    return OK, f"{scanned:,}ファイル（HTML・CSV・JSON・Excel・ノートブック）を走査: 有効な個人番号なし"


def analysis_store_clean(c: Context) -> tuple[str, str]:
    from ..analysis.store import identifier_columns
    from ..privacy import BLOCKED_CLASSES
    db = paths.analysis_db(c.db)
    if not db.exists():
        return LOOK, "分析用ストアが公開されていない"
    bad = identifier_columns(db)
    if bad:
        return BREACH, f"分析用ストアに識別情報の列: {', '.join(bad)}"
    return OK, f"分析用ストアの列に識別情報の区分（{'・'.join(BLOCKED_CLASSES)}）なし"


CHECKS: list[Check] = [
    Check("操作ログの記録", "システムにより作業内容及び作業内容の操作ログを記録する。なお、操作ログ保持期間は、最低1年間とする。",
          "ログが1年以上の期間を保ち、整理で1年未満の記録が消されず、記録の空白が許容日数以内、保存期間を過ぎた記録がない",
          log_kept),
    Check("操作ログの記録", "操作者がどの個人に対して照会・異動・証明発行を行ったかを記録する。",
          "ログの連鎖（各記録のハッシュ）と起点ファイル（HMAC）の検証、個人を扱った利用ごとの対象者の記録", log_chain),
    Check("操作ログの点検", "1年に1回程度、記録事項に問題がないか点検を行う。",
          "対象期間にアクセス監査が実行されたか", log_reviewed),
    Check("アクセス権限の管理", "同部門が定期的(四半期に1度)に確認を実施し、不要となったユーザIDや権限を変更又は削除する。",
          "最後のアクセス権限の確認表の作成日", access_rights_review),
    Check("アクセス権限の管理", "申請に対して、システム管理者が確認の上、アクセス権限を付与する。異動退職があった際は、"
          "各所属長が当該ユーザIDの失効を申請する。",
          "対象期間の権限の付与・変更・失効と、その承認者の記録", role_changes),
    Check("アクセス権限の管理", "共用ユーザIDは発行せず、必ず個人に対しユーザIDを発行する。失効時にはシステムの権限だけでなく、"
          "端末にログインするためのアカウントも停止させる。", "無効の利用者の利用（無効化の日の後）", disabled_operators),
    Check("検索条件", "送付先情報の検索を行う際の検索条件として、少なくとも性別を除く2情報以上（氏名と住所の組合せ、"
          "氏名と生年月日の組合せ）の指定を必須とする。", "正常に終わった検索がすべて2情報以上だったか", two_of_four),
    Check("提供・移転", "提供・移転先に応じた必要項目のみ",
          "各出力が提供先・移転先台帳の宛先（期間内）へ、項目・件数・SHA-256を記録して行われたか",
          exports_recorded),
    Check("整合性確認",
          "既存住基システムとの整合処理を定期的実施し、保存する本人確認情報が最新であるかどうかを確認することにより担保する。",
          "対象期間の整合性確認（既存住基・都道府県・機構）と未解消の相違", reconciled),
    Check("送付先情報の消去", "システム上、連携後速やかに(1営業日後)削除する仕組みとする。",
          "送付後1開庁日を過ぎて残る送付先情報の行", sofusaki_erased),
    Check("除票の保存・消去", "住基法施行令第34条により削除された住民票は、削除した日から5年間保存するものとしてされており、"
          "5年間は既存住基システムに除票住民票として管理している。", "保存期間の規則で期限を過ぎた行が残っていないか",
          joshu_on_schedule),
    Check("消去の記録", "システム上、保管期間の経過した特定個人情報を一括して削除する仕組みとする。",
          "対象期間の消去記録（purge_log）", purge_records),
    Check("統計分析", "個人番号を使用した統計分析は行わず、人口統計や異動件数、事務処理件数の確認のための統計のみ行う。",
          "レポート・統計の出力に有効な個人番号（検査数字の合うもの）がないか", no_number_in_outputs),
    Check("統計分析", "個人番号を使用した統計分析は行わず、人口統計や異動件数、事務処理件数の確認のための統計のみ行う。",
          "分析用ストアに識別情報の列がないか", analysis_store_clean),
]


# ---------------------------------------------------------------- scanning outputs

_TWELVE = re.compile(rb"(?<![0-9])([0-9]{12})(?![0-9])")


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, in order; a folder that vanishes meanwhile (a report run
    renaming its notebooks' folders) is passed over, and so is a report still being built
    (``.<date>.building-<pid>``: it is scanned once it is in place)."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if ".building-" not in d)
        out += [Path(root) / f for f in files]
    return sorted(out)


def scan_for_numbers(folder: Path) -> tuple[dict, int]:
    """Files under ``folder`` holding a valid 12-digit individual number: {relative path: count}."""
    from ..codes import kojin_bango
    hits, scanned = {}, 0
    if not folder.exists():
        return hits, 0
    for p in _files(folder):
        if p.suffix.lower() not in SCANNED:
            continue
        scanned += 1
        try:
            blobs = _texts(p)
        except (OSError, zipfile.BadZipFile):
            continue
        n = sum(1 for b in blobs for m in _TWELVE.finditer(b) if kojin_bango.is_valid(m.group(1).decode()))
        if n:
            hits[str(p.relative_to(folder))] = n
    return hits, scanned


def _texts(p: Path) -> list[bytes]:
    if p.suffix.lower() == ".xlsx":
        with zipfile.ZipFile(p) as z:
            return [z.read(n) for n in z.namelist() if n.endswith(".xml")]
    data = p.read_bytes()
    return [re.sub(rb"data:[a-z/+-]+;base64,[A-Za-z0-9+/=]+", b"", data)]   # inlined fonts and images


# ---------------------------------------------------------------- the result

@dataclass
class SelfInspection:
    start: dt.date
    end: dt.date
    made_at: str
    operator: str
    items: list[Item]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for i in self.items if i.status == s) for s in (OK, BREACH, LOOK)}

    def headline(self) -> str:
        c = self.counts()
        return (f"**対象期間**: {self.start}～{self.end}　**点検項目**: {len(self.items)}　"
                f"**適合**: {c[OK]}　**不適合**: {c[BREACH]}　**要確認**: {c[LOOK]}　（作成 {self.made_at}、{self.operator}）")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"番号": i.no, "区分": i.area, "評価書の記載": i.promise, "点検の内容": i.check,
                              "結果": i.status, "根拠（自動収集）": i.evidence} for i in self.items]).set_index("番号")

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "made_at": self.made_at,
                "operator": self.operator, "items": [asdict(i) for i in self.items]}

    def write(self, folder) -> Path:
        folder = Path(folder)
        atomic.atomic_write_json(folder / JSON, self.to_dict())
        write_xlsx(self, folder / XLSX)
        return folder / JSON

    @classmethod
    def load(cls, folder) -> "SelfInspection":
        d = json.loads((Path(folder) / JSON).read_text(encoding="utf-8"))
        return cls(dt.date.fromisoformat(d["start"]), dt.date.fromisoformat(d["end"]), d["made_at"], d["operator"],
                   [Item(**i) for i in d["items"]])


def inspect(db=None, start=None, end=None, reports=None, log_path=None) -> SelfInspection:
    """Gather the evidence for every check over ``start``..``end`` (default: the year to today)."""
    from .. import store
    from ..access import guard
    from ..log import oplog
    from ..retention import load as load_policy
    end = _date(end) or dt.date.today()
    start = _date(start) or end - dt.timedelta(days=365)
    if start > end:
        from ..errors import JukiError
        raise JukiError(f"period_start {start} is after period_end {end}")
    path = store.db_path(db)
    if log_path is None:
        from ..access import grants
        grants.record()          # changes of roles since the last record go into the log first
    c = Context(start, end, path if path.exists() else None, Path(reports) if reports else paths.reports(),
                oplog.entries(log_path), oplog.verify(log_path, witness=store.recorded_log_head(path)),
                load_policy(None))
    own = _store_as_of(c.db) if c.db is not None else None
    c.data_date = min(end, own) if own else end
    items = []
    for n, ch in enumerate(CHECKS, start=1):
        status, evidence = ch.gather(c)
        items.append(Item(n, ch.area, ch.promise, ch.check, status, evidence))
    return SelfInspection(start, end, dt.datetime.now().isoformat(timespec="seconds"), guard.current().id, items)


def _date(v) -> dt.date | None:
    if v in (None, ""):
        return None
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def write_xlsx(si: SelfInspection, out: Path) -> Path:
    """The inspection for the file: one sheet, the PIA's words, evidence, status, and a sign-off block."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    wb = Workbook()
    ws = wb.active
    ws.title = "自己点検"
    ws["A1"] = "特定個人情報保護評価 自己点検票（住民基本台帳に関する事務）"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = f"対象期間: {si.start}～{si.end}　作成: {si.made_at}（{si.operator}）"
    c = si.counts()
    ws["A3"] = f"適合 {c[OK]}　不適合 {c[BREACH]}　要確認 {c[LOOK]}"
    head = ["番号", "区分", "評価書の記載", "点検の内容", "結果", "根拠（自動収集）", "確認者の所見"]
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for j, h in enumerate(head, start=1):
        cell = ws.cell(row=5, column=j, value=h)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.border = box
    colour = {OK: "E2F0D9", BREACH: "F8CBAD", LOOK: "FFF2CC"}
    for i, it in enumerate(si.items, start=6):
        for j, v in enumerate([it.no, it.area, it.promise, it.check, it.status, it.evidence, ""], start=1):
            cell = ws.cell(row=i, column=j, value=v)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.border = box
        ws.cell(row=i, column=5).fill = PatternFill("solid", fgColor=colour[it.status])
    for col, width in zip("ABCDEFG", (6, 14, 48, 36, 8, 56, 24)):
        ws.column_dimensions[col].width = width
    r = len(si.items) + 8
    for k, label in enumerate(("確認者（職・氏名）", "確認日", "所属長の確認"), start=0):
        ws.cell(row=r + k, column=2, value=label).font = Font(bold=True)
        ws.merge_cells(start_row=r + k, start_column=3, end_row=r + k, end_column=4)
        for j in (2, 3, 4):
            ws.cell(row=r + k, column=j).border = box
    ws.print_title_rows = "5:5"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    with atomic.replacing(out) as tmp:
        wb.save(tmp)
    return out
