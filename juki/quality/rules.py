"""The rule catalogue: every data-quality rule of the three files, declared as data.

A rule is a SQL boolean expression that is TRUE when a row passes (NULL counts as a pass).
Rules come from two sources:

* **row checks**, derived from the layouts (one source of truth): required / not applicable
  (the layout's ``applies`` predicate), length, format, code table and check digit (the
  layout's ``number`` format, SQL from its module in :mod:`juki.codes`).  They read nothing but
  the row, so the loader evaluates the very same rules on staged rows before they enter the
  store (:func:`row_checks`, scope ``row``);
* **domain rules** declared below: date order, household, uniqueness, 30条45, 外字, 清音化, 項目長,
  batch size and cross-file reconciliation.  They read the per-table *rule base*
  (:mod:`juki.quality.base`: residency flags, household counts, the matching 本人確認情報 row),
  scope ``base``.

The SQL is kept portable (``regexp_matches`` with anchors, integer arithmetic, CASE): the test
suite transpiles every rule with sqlglot to Spark SQL, so the catalogue can be compiled for a
distributed engine (a prefecture's or the nation's 本人確認情報).

>>> cat = catalogue()
>>> sorted({r.kind for r in cat})[:5]
['check_digit', 'code', 'consistency', 'date_order', 'foreign']
>>> len({r.id for r in cat}) == len(cat)
True
>>> [r.kind for r in row_checks("jumin") if r.items == ("zairyu_shikaku",)]
['required', 'not_applicable', 'length', 'code']
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .. import codes
from ..codes import kana
from ..layouts import LAYOUTS, Item, Layout
from ..text import squash

#: Rule classes (kind) and their Japanese label for reports.
KINDS = {
    "required": "必須",
    "not_applicable": "対象外項目の記載",
    "length": "桁数",
    "format": "書式",
    "code": "コード値",
    "check_digit": "検査数字",
    "date_order": "日付の前後関係",
    "foreign": "外国人住民の記載事項",
    "household": "世帯",
    "uniqueness": "一意性",
    "consistency": "項目間の整合",
    "reconciliation": "ファイル間の整合性確認",
}
ROW_KINDS = ("required", "not_applicable", "length", "format", "code", "check_digit")
SEVERITY = {"error": "誤り", "alert": "警告"}


@dataclass(frozen=True)
class Rule:
    id: str
    table: str
    kind: str
    items: tuple[str, ...]
    description: str           # Japanese, as reports show it
    ok: str                    # SQL: TRUE when the row passes (NULL counts as a pass)
    severity: str = "error"    # error | alert
    needs: tuple[str, ...] = ()  # other files the rule reads (reconciliation)

    @property
    def scope(self) -> str:
        """``row`` when the rule reads nothing but the row (the loader runs those too)."""
        return "row" if self.kind in ROW_KINDS else "base"

    @property
    def severity_label(self) -> str:
        return SEVERITY[self.severity]


def _q(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _present(i: Item) -> str:
    """SQL: the item has a value (a partial date of unknown day counts: 年月日不詳 is a value)."""
    if i.partial:
        return f"({i.column} IS NOT NULL OR {i.column}_prec = 'U')"
    return f"{i.column} IS NOT NULL"


def item_rules(layout: Layout, i: Item) -> list[Rule]:
    """The row checks of one item, from its declaration."""
    t, c = layout.table, i.column
    out = []
    applies = f"({i.applies})" if i.applies else "TRUE"
    if not i.nullable:
        out.append(Rule(f"{t}.{c}.required", t, "required", (c,), f"「{i.name}」は記載が必要",
                        f"NOT ({applies} AND NOT {_present(i)})"))
    if i.applies:
        out.append(Rule(f"{t}.{c}.not_applicable", t, "not_applicable", (c,), f"「{i.name}」は対象外の者に記載しない",
                        f"NOT (NOT coalesce({applies}, FALSE) AND {_present(i)})"))
    fixed_form = bool(i.format and "{" in i.format and i.format.startswith("^["))
    if i.type == "VARCHAR" and i.length and not fixed_form:
        out.append(Rule(f"{t}.{c}.length", t, "length", (c,), f"「{i.name}」は{i.length}文字以内",
                        f"{c} IS NULL OR length({c}) <= {i.length}"))
    if i.format:
        pattern = i.format.replace("'", "''")
        out.append(Rule(f"{t}.{c}.format", t, "format", (c,), f"「{i.name}」の書式",
                        f"{c} IS NULL OR regexp_matches({c}, '{pattern}')"))
    if i.code and i.code not in codes.OPEN_TABLES:
        out.append(Rule(f"{t}.{c}.code", t, "code", (c,), f"「{i.name}」はコード表({i.code})の値",
                        f"{c} IS NULL OR {c} IN ({_q(codes.codes(i.code))})"))
    if i.number:
        mod = codes.number_module(i.number)
        if hasattr(mod, "calc_check_digit"):
            out.append(Rule(f"{t}.{c}.check_digit", t, "check_digit", (c,), f"「{i.name}」の検査数字",
                            mod.sql_is_valid(c)))
    return out


def layout_rules(layout: Layout) -> list[Rule]:
    return [r for i in layout.all_columns for r in item_rules(layout, i)]


def length_field_rules(layout: Layout) -> list[Rule]:
    """Each 「… 項目長」 item equals the length of the item it measures (matched by name)."""
    out = []
    by_name = {squash(i.name): i for i in layout.items}
    for i in layout.items:
        nm = squash(i.name)
        if nm.endswith("項目長"):
            target = by_name.get(nm[: -len("項目長")])
            if target is None:
                raise ValueError(f"{layout.table}: no item measured by {i.name}")
            out.append(Rule(f"{layout.table}.{i.column}.matches_length", layout.table, "consistency",
                            (i.column, target.column), f"「{i.name}」が「{target.name}」の文字数と一致",
                            f"{i.column} IS NULL AND {target.column} IS NULL OR "
                            f"{i.column} = length(coalesce({target.column}, ''))"))
    return out


# ------------------------------------------------------------------ domain rules

#: 異動事由 that change the registry's make-up but are not population movements (改製, 再製).
NOT_MOVEMENTS = ["17", "18", "27", "28"]


def _stats_codes(kind: str) -> list[str]:
    """異動事由 counted as 記載 or 消除 in the official statistics (the code table's stats column)."""
    return [r["code"] for r in codes.rows("ido_jiyu") if r["stats"] and r["stats"].endswith(kind)
            or (kind == "記載" and r["stats"].startswith(("転入", "出生")))
            or (kind == "消除" and r["stats"].startswith(("転出", "死亡")))]

def domain_rules() -> list[Rule]:
    R = Rule
    return [
        # 住民基本台帳ファイル
        R("jumin.dates.birth_first", "jumin", "date_order", ("seinengappi", "jumin_date", "jusho_date"),
          "生年月日 ≤ 住民となった日、住所を定めた日", "seinengappi <= jumin_date AND seinengappi <= jusho_date"),
        R("jumin.dates.ido_todoke_shori", "jumin", "date_order", ("ido_date", "todoke_date", "shori_date"),
          "異動年月日 ≤ 届出年月日 ≤ 処理年月日(転出は届出が先、職権は届出なし)",
          "CASE WHEN todoke_date IS NULL THEN ido_date <= shori_date "
          "WHEN ido_jiyu IN ('21', '22') THEN todoke_date <= shori_date "
          "ELSE ido_date <= todoke_date AND todoke_date <= shori_date END"),
        R("jumin.foreign.manryo_not_passed", "jumin", "foreign", ("zairyu_manryo",),
          "住民の在留期間の満了日が基準日を過ぎていない", "NOT is_resident OR zairyu_manryo IS NULL OR zairyu_manryo >= as_of"),
        R("jumin.household.one_head", "jumin", "household", ("zokugara",),
          "世帯主は1世帯に1人(2人以上は誤り)", "NOT is_resident OR zokugara <> '01' OR hh_heads <= 1"),
        R("jumin.household.no_head", "jumin", "household", ("zokugara",),
          "世帯主のいない世帯(警告: 世帯主変更の確認)", "NOT is_resident OR hh_heads >= 1", severity="alert"),
        R("jumin.household.head_name", "jumin", "household", ("setainushi_mei",),
          "世帯主名が世帯主の氏名と一致", "NOT is_resident OR hh_heads <> 1 OR setainushi_mei = hh_head_name"),
        R("jumin.household.zokugara", "jumin", "household", ("zokugara", "seibetsu", "seinengappi"),
          "続柄が世帯主との性別・年齢の関係と整合",
          "NOT is_resident OR hh_heads <> 1 OR zokugara = '01' OR NOT ("
          "(zokugara IN ('03', '05') AND (seibetsu <> '2' OR hh_head_sex <> '1')) OR "
          "(zokugara IN ('02', '04') AND (seibetsu <> '1' OR hh_head_sex <> '2')) OR "
          "(zokugara = '06' AND seinengappi < hh_head_birth + INTERVAL 12 YEAR) OR "
          "(zokugara IN ('09', '10') AND seinengappi > hh_head_birth - INTERVAL 12 YEAR) OR "
          "(zokugara IN ('07', '09', '11', '13', '18', '20', '22', '24') AND seibetsu <> '1') OR "
          "(zokugara IN ('08', '10', '12', '14', '19', '21', '23', '25') AND seibetsu <> '2'))"),
        R("jumin.unique.kojin_bango", "jumin", "uniqueness", ("kojin_bango",),
          "個人番号は住民の間で一意", "NOT is_resident OR n_same_kojin_bango = 1"),
        R("jumin.unique.jumin_code", "jumin", "uniqueness", ("jumin_code",),
          "住民票コードは住民の間で一意", "NOT is_resident OR n_same_jumin_code = 1"),
        R("jumin.address.town", "jumin", "consistency", ("genjusho",),
          "住民の現住所から町丁字を特定できる(できない住民は統計で「不詳」)", "NOT is_resident OR town_code IS NOT NULL",
          severity="alert"),
        # the rows as changes of state (juki.residency.transitions): what the survey's balance needs
        R("jumin.timeline.order", "jumin", "date_order", ("shori_date", "shojo_date"),
          "履歴番号の順に効力が生じる（前の履歴より前に処理・遡った消除がない）", "prev_eff IS NULL OR eff_date >= prev_eff"),
        R("jumin.timeline.entry", "jumin", "consistency", ("ido_kubun", "ido_jiyu"),
          "住民への記載は住民でない者に対して行う（二重の記載・取消し漏れがない）",
          f"NOT (ido_jiyu IN ({_q(_stats_codes('記載'))}) AND resident_before)"),
        R("jumin.timeline.removal", "jumin", "consistency", ("ido_kubun", "ido_jiyu"),
          "消除は住民に対して行う", f"NOT (ido_jiyu IN ({_q(_stats_codes('消除'))}) AND NOT resident_before)"),
        R("jumin.timeline.silent", "jumin", "consistency", ("ido_kubun", "ido_jiyu"),
          "記載・消除によらずに住民になる・住民でなくなることがない（消除後の修正など）",
          f"NOT (ido_jiyu NOT IN ({_q(_stats_codes('記載') + _stats_codes('消除') + NOT_MOVEMENTS)}) "
          "AND resident_before <> resident_after)"),
        R("jumin.reconcile.honnin", "jumin", "reconciliation",
          ("jumin_code", "kojin_bango", "shimei", "seinengappi", "seibetsu", "genjusho"),
          "住民の本人確認情報(現存)が住民票コード・個人番号・基本4情報で一致", "NOT is_resident OR honnin_match",
          needs=("honnin",)),
        # 本人確認情報ファイル
        R("honnin.kana.seion", "honnin", "consistency", ("furigana_shimei", "seion_kana_shimei"),
          "清音化かな氏名がふりがな氏名を清音化したものと一致",
          f"seion_kana_shimei = translate(furigana_shimei, '{kana.VOICED}', '{kana.PLAIN}')"),
        R("honnin.gaiji.flag", "honnin", "consistency", ("gaiji_su_shimei", "gaiji_su_jusho", "gaiji_flag"),
          "外字フラグが外字数と整合",
          "gaiji_flag = CASE WHEN coalesce(gaiji_su_shimei, 0) + coalesce(gaiji_su_jusho, 0) "
          "+ coalesce(gaiji_su_zen_jusho, 0) > 0 THEN '1' ELSE '0' END"),
        R("honnin.dates.birth_first", "honnin", "date_order", ("seinengappi", "jumin_date", "jusho_date"),
          "生年月日 ≤ 住民となった日、住所を定めた日", "seinengappi <= jumin_date AND seinengappi <= jusho_date"),
        R("honnin.reconcile.resident", "honnin", "reconciliation", ("jumin_code",),
          "本人確認情報に対応する住民票がある", "has_resident", needs=("jumin",)),
        R("honnin.current.one", "honnin", "reconciliation", ("record_jokyo_flag",),
          "現存の本人確認情報は1人に1件", "record_jokyo_flag <> '0' OR n_current = 1"),
        R("honnin.koshin.increasing", "honnin", "consistency", ("koshin_jun_no", "time_stamp"),
          "更新順番号が本人ごとに時刻順で増加", "prev_koshin IS NULL OR koshin_jun_no > prev_koshin"),
        # 送付先情報ファイル
        R("sofusaki.batch.ninzu", "sofusaki", "consistency", ("taisho_ninzu",),
          "対象となる人数が同じ送付先管理番号の人数と一致", "taisho_ninzu = n_in_batch"),
        R("sofusaki.gaiji.flag", "sofusaki", "consistency", ("gaiji_flag", "shimei_gaiji_su", "jusho_gaiji_su"),
          "外字フラグが外字数と整合",
          "gaiji_flag = CASE WHEN coalesce(shimei_gaiji_su, 0) + coalesce(jusho_gaiji_su, 0) > 0 THEN '1' ELSE '0' END"),
        R("sofusaki.reconcile.resident", "sofusaki", "reconciliation",
          ("jumin_code", "kojin_bango", "shimei", "seinengappi", "seibetsu", "jusho"),
          "送付先情報が住民の現在の記載(個人番号・基本4情報)と一致", "resident_match", needs=("jumin",)),
    ]


@lru_cache(maxsize=1)
def catalogue() -> tuple[Rule, ...]:
    out = []
    for layout in LAYOUTS.values():
        out += layout_rules(layout)
        out += length_field_rules(layout)
    out += domain_rules()
    ids = [r.id for r in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate rule ids: {sorted(dup)}")
    return tuple(out)


def rules_for(table: str) -> list[Rule]:
    return [r for r in catalogue() if r.table == table]


def row_checks(table: str) -> list[Rule]:
    """The rules that read nothing but the row: what the loader checks before a row enters the store."""
    return [r for r in rules_for(table) if r.scope == "row"]


def get_rule(rule_id: str) -> Rule:
    for r in catalogue():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)
