"""The access audit (PIA: 記録事項に問題がないか点検, 年1回程度): use per operator and entry point,
off-hours and 閉庁日 use (the scheduler listed apart), broad searches, refusals, how many persons
each operator's uses touched, the log's verification (chain and anchor), and the quarterly
access-rights review (operator, roles, last use, enabled).

Also the two look-ups of ``juki audit``: every use that touched one resident (開示請求,
incident scoping) and every use by one operator.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import businessdays
from ..access import roles
from ..log import oplog

OFFICE_HOURS = (dt.time(8, 30), dt.time(17, 15))
FINDINGS = "audit_findings.json"
#: An enabled account unused for longer is flagged in the access-rights review ([settings] unused_days).
UNUSED_DAYS = 90
ACTIONS = {"run": "レポート実行", "search": "検索", "reveal": "個人番号の表示", "export": "出力", "load": "取込み",
           "generate": "合成データ作成", "purge": "消去", "purge_sofusaki": "送付先情報の消去", "report": "定期レポート",
           "drilldown": "不適合記録の表示", "audit_read": "操作ログの照会", "audit_prune": "操作ログの整理",
           "publish_analysis": "分析用ストアの公開", "explore": "エクスプローラー", "chain_break": "ログの断絶の記録",
           "anchor": "ログ整理の起点", "followup": "品質課題の記録", "open_registry": "住民記録ストアの利用",
           "open_analysis": "分析用ストアの利用", "below_floor": "秘匿基準未満の集計", "reconcile": "整合性確認",
           "review": "データ品質レビュー",
           "audit_review": "署名された点検", "export_erased": "委託先の消去確認",
           "request": "問合せ・開示請求の受付", "table": "集計（表サービス）"}
OUTCOMES = {"ok": "正常", "failed": "失敗", "refused": "拒否"}
COLUMNS = ["seq", "at", "os_user", "operator", "role", "action", "target", "records", "number_accessed",
           "outcome", "detail", "flags", "persons", "persons_count", "persons_file", "params"]


def frame(path=None) -> pd.DataFrame:
    es = [e for e in oplog.entries(path) if e.get("action") != "anchor"]
    df = pd.DataFrame(es, columns=COLUMNS)
    if len(df):
        df["at"] = pd.to_datetime(df["at"])
        df["n_persons"] = [len(p) if isinstance(p, list) else (c if c == c and c is not None else 0)
                           for p, c in zip(df["persons"], df["persons_count"])]
    else:
        df["n_persons"] = []
    return df


def _jp(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    if "action" in out:
        out["action"] = out["action"].map(lambda a: ACTIONS.get(a, a))
    if "outcome" in out:
        out["outcome"] = out["outcome"].map(lambda o: OUTCOMES.get(o, o))
    if "at" in out:
        out["at"] = out["at"].dt.strftime("%Y-%m-%d %H:%M")
    return out.rename(columns={"seq": "番号", "at": "日時", "os_user": "OSアカウント", "operator": "利用者",
                               "role": "役割", "action": "操作", "target": "対象", "records": "件数",
                               "outcome": "結果", "detail": "詳細", "n_persons": "対象者数"})


def _empty(msg: str) -> pd.DataFrame:
    return pd.DataFrame({"結果": [msg]})


@dataclass
class AccessAudit:
    df: pd.DataFrame
    start: dt.date
    end: dt.date
    verified: tuple
    broad: int

    @classmethod
    def build(cls, start=None, end=None, db=None, broad: int = 20, path=None) -> "AccessAudit":
        end = dt.date.fromisoformat(str(end)) if end else dt.date.today()
        start = dt.date.fromisoformat(str(start)) if start else end - dt.timedelta(days=365)
        from .. import store
        verified = oplog.verify(path, witness=store.recorded_log_head(db) if db else None)
        df = frame(path)
        if len(df):
            df = df[(df["at"].dt.date >= start) & (df["at"].dt.date <= end)]
        return cls(df, start, end, verified, broad)

    def findings(self) -> dict:
        """Counts for the report's index: chain result, refusals, off-hours use, broad searches."""
        def n(df):
            return 0 if "結果" in df.columns and len(df.columns) == 1 else len(df)
        ok, msg = self.verified
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "chain_ok": bool(ok), "chain": msg,
                "entries": int(len(self.df)), "refusals": n(self.refusals()),
                "off_hours_staff": n(self.off_hours(False)), "off_hours_scheduler": n(self.off_hours(True)),
                "broad_searches": n(self.broad_searches()), "search_enumeration": n(self.enumeration()),
                "table_sweeps": n(self.table_sweeps()), "erasure_overdue": self.erasure_overdue(),
                **{f"requests_{k}": v for k, v in self.request_counts().items()}}

    def write(self, folder) -> Path:
        from ..atomic import atomic_write_json
        return atomic_write_json(Path(folder) / FINDINGS, self.findings())

    @staticmethod
    def load_findings(folder) -> dict:
        import json
        p = Path(folder) / FINDINGS
        if not p.exists():
            from ..errors import JukiError
            raise JukiError(f"no access-audit findings in {folder}")
        return json.loads(p.read_text(encoding="utf-8"))

    def headline(self) -> str:
        ok, msg = self.verified
        state = "正常" if ok else '<span style="color:#c00">異常</span>'
        return (f"**対象期間**: {self.start}～{self.end}　**記録件数**: {len(self.df):,}　"
                f"**ログの検証**: {state}（{msg}）")

    def usage(self) -> pd.DataFrame:
        if not len(self.df):
            return _empty("記録なし")
        t = self.df.assign(action=self.df["action"].map(lambda a: ACTIONS.get(a, a)))
        return t.pivot_table(index=["operator", "role"], columns="action", values="seq", aggfunc="count",
                             fill_value=0).rename_axis(index=["利用者", "役割"], columns="操作")

    def persons_touched(self) -> pd.DataFrame:
        if not len(self.df):
            return _empty("記録なし")
        g = self.df.groupby("operator").agg(uses=("seq", "count"), persons=("n_persons", "sum"),
                                            number=("number_accessed", "sum")).reset_index()
        return g.rename(columns={"operator": "利用者", "uses": "利用回数", "persons": "対象者数(延べ)",
                                 "number": "個人番号の利用"})

    def off_hours(self, scheduler: bool = False) -> pd.DataFrame:
        """Uses outside office hours or on a day the office is closed (土日祝・年末年始)."""
        df = self.df
        if not len(df):
            return _empty("記録なし")
        t = df["at"].dt.time
        closed = df["at"].dt.date.map(lambda d: not businessdays.is_business_day(d))
        out = df[(t < OFFICE_HOURS[0]) | (t > OFFICE_HOURS[1]) | closed]
        is_sched = out["role"].eq("scheduler") | out["operator"].isin(_scheduler_ids())
        out = out[is_sched] if scheduler else out[~is_sched]
        if not len(out):
            return _empty("該当なし")
        return _jp(out[["seq", "at", "operator", "role", "action", "target", "outcome", "n_persons"]])

    def broad_searches(self) -> pd.DataFrame:
        df = self.df
        if not len(df):
            return _empty("記録なし")
        s = df[(df["action"] == "search") & ((df["records"].fillna(0) > self.broad)
                                              | df["flags"].map(lambda f: "broad" in (f or [])))]
        return _jp(s[["seq", "at", "operator", "records", "outcome"]]) if len(s) else _empty("該当なし")

    def enumeration(self) -> pd.DataFrame:
        """Searches that together enumerate residents: per operator and day, more searches than
        ``search_daily_limit`` or more persons listed than ``search_daily_persons``."""
        from ..search import DAILY_LIMIT, DAILY_PERSONS, setting
        df = self.df
        if not len(df):
            return _empty("記録なし")
        s = df[(df["action"] == "search") & (df["outcome"] == "ok")]
        if not len(s):
            return _empty("該当なし")
        g = s.assign(day=s["at"].dt.date).groupby(["operator", "day"]).agg(
            searches=("seq", "count"), persons=("n_persons", "sum"),
            flagged=("flags", lambda f: sum(bool({"many_searches", "many_persons"} & set(x or [])) for x in f))).reset_index()
        hit = g[(g["searches"] > setting("search_daily_limit", DAILY_LIMIT))
                | (g["persons"] > setting("search_daily_persons", DAILY_PERSONS)) | (g["flagged"] > 0)]
        if not len(hit):
            return _empty("該当なし")
        return hit.rename(columns={"operator": "利用者", "day": "日付", "searches": "検索回数", "persons": "表示した人数(延べ)",
                                   "flagged": "警告の付いた検索"})

    def table_sweeps(self) -> pd.DataFrame:
        """Analysts' tables flagged ``sweep``: many queries on one area in a day (a differencing or
        averaging attempt), per operator, day and area."""
        df = self.df
        if not len(df):
            return _empty("記録なし")
        s = df[(df["action"] == "table") & df["flags"].map(lambda f: "sweep" in (f or []))]
        if not len(s):
            return _empty("該当なし")
        s = s.assign(day=s["at"].dt.date, area=s["params"].map(lambda p: (p or {}).get("area", "")))
        g = s.groupby(["operator", "day", "area"]).agg(n=("seq", "count")).reset_index()
        return g.rename(columns={"operator": "利用者", "day": "日付", "area": "地域", "n": "警告の付いた集計"})

    def erasures(self) -> pd.DataFrame:
        """Files exported to contractors: when each must be erased, and the confirmation
        (``juki audit erased SHA256 --by NAME``), from the whole log."""
        full = frame()
        if not len(full):
            return _empty("記録なし")
        ex = full[(full["action"] == "export") & (full["outcome"] == "ok")
                  & full["params"].map(lambda p: bool((p or {}).get("erase_by")))]
        if not len(ex):
            return _empty("委託先への出力なし")
        done = {}
        for e in full[(full["action"] == "export_erased") & (full["outcome"] == "ok")].itertuples():
            done[(e.params or {}).get("sha256")] = (e.at.date(), (e.params or {}).get("by", ""))
        rows = []
        for e in ex.itertuples():
            digest = (oplog.file_digest({"detail": e.detail}) or ("", ""))[1]
            due = dt.date.fromisoformat(e.params["erase_by"])
            when, by = done.get(digest, (None, ""))
            state = "消去確認済" if when else ("期限超過" if due < self.end else "期限内")
            rows.append({"出力日": e.at.date(), "提供先": e.params.get("recipient", ""), "件数": e.records,
                         "SHA-256": digest[:16] + "…", "消去期限": due, "消去確認": f"{when} {by}" if when else "—",
                         "状況": state})
        return pd.DataFrame(rows)

    def requests(self) -> pd.DataFrame:
        """問合せ・開示請求 received in the period, each with its answer (an ``audit person`` run
        that names it) or still open."""
        full = frame()
        if not len(full):
            return _empty("記録なし")
        got = self.df[(self.df["action"] == "request") & (self.df["outcome"] == "ok")] if len(self.df) else self.df
        if not len(got):
            return _empty("対象期間に受付なし")
        answers = {}
        for e in full[(full["action"] == "audit_read") & (full["outcome"] == "ok")].itertuples():
            r = (e.params or {}).get("request")
            if r:
                answers[r] = (e.at.date(), e.operator)
        rows = []
        for e in got.itertuples():
            no = f"REQ-{e.seq}"
            p = e.params or {}
            ans = answers.get(no)
            rows.append({"番号": no, "受付日": p.get("received", ""), "種別": p.get("kind", ""), "経路": p.get("channel", ""),
                         "担当": p.get("handler", ""), "回答": f"{ans[0]}（{ans[1]}）" if ans else "—",
                         "状況": "回答済" if ans else "未回答"})
        return pd.DataFrame(rows)

    def request_counts(self) -> dict:
        df = self.requests()
        if "状況" not in df.columns:
            return {"open": 0, "answered": 0}
        return {"open": int((df["状況"] == "未回答").sum()), "answered": int((df["状況"] == "回答済").sum())}

    def erasure_overdue(self) -> int:
        df = self.erasures()
        return int((df["状況"] == "期限超過").sum()) if "状況" in df.columns else 0

    def refusals(self) -> pd.DataFrame:
        df = self.df
        if not len(df):
            return _empty("記録なし")
        r = df[df["outcome"] == "refused"]
        return _jp(r[["seq", "at", "os_user", "operator", "action", "target", "detail"]]) if len(r) else _empty("該当なし")

    def access_rights(self) -> pd.DataFrame:
        """Quarterly review: every operator, their roles, last use and whether enabled."""
        try:
            ops = roles.load()
        except roles.Refused as e:
            return _empty(str(e))
        full = frame()
        last = full.groupby("operator")["at"].max() if len(full) else pd.Series(dtype=object)
        used_ok = set(full[full["outcome"] == "ok"]["operator"]) if len(full) else set()
        from ..search import setting
        unused = setting("unused_days", UNUSED_DAYS)

        def note(o) -> str:
            if not o.enabled:
                return "無効の利用者に利用あり" if o.id in used_ok else ""
            out = [o.lapse] if o.lapse else []
            if o.id not in last or (self.end - last[o.id].date()).days > unused:
                out.append(f"{unused}日を超えて利用なし（不要なら無効化）")
            return "／".join(out)
        rows = [{"利用者": o.id, "氏名": o.name, "OSアカウント": o.os_user or "（未設定）", "役割": o.role_labels,
                 "有効": "有効" if o.enabled else "無効", "最終利用": last[o.id].strftime("%Y-%m-%d") if o.id in last else "—",
                 "確認": note(o)} for o in ops.values()]
        return pd.DataFrame(rows)


def _scheduler_ids() -> set:
    try:
        return {o.id for o in roles.load().values() if "scheduler" in o.roles and len(o.roles) == 1}
    except roles.Refused:
        return set()


def uses_of_person(atena_no: str, path=None) -> pd.DataFrame:
    """Every logged use that touched this resident: when, who, what (開示請求・漏えい時の範囲確認)."""
    es = oplog.touching(atena_no, path)
    if not es:
        return pd.DataFrame()
    df = pd.DataFrame(es)[["seq", "at", "operator", "role", "action", "target", "outcome"]]
    df["at"] = pd.to_datetime(df["at"])
    return _jp(df)


def uses_of_operator(operator_id: str, path=None) -> pd.DataFrame:
    df = frame(path)
    df = df[df["operator"] == operator_id]
    if not len(df):
        return pd.DataFrame()
    return _jp(df[["seq", "at", "action", "target", "records", "n_persons", "outcome"]])
