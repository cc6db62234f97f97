"""The rule catalogue: every data-quality rule of the three files, declared as data.

A rule is an id, its metadata and ``ok``: a function from an ibis table (the file's rule base)
to a boolean column, TRUE when a row passes (NULL counts as a pass) -- the way pandera writes
its ibis checks.  No SQL text: the same rule compiles for DuckDB and for Spark.
Rules come from two sources:

* **row checks**, derived from the layouts (one source of truth): required / not applicable
  (the layout's ``applies`` predicate), length, format, code table and check digit (the
  layout's ``number`` format, an expression from its module in :mod:`juki.codes`).  They read nothing but
  the row, so the loader evaluates the very same rules on staged rows before they enter the
  store (:func:`row_checks`, scope ``row``);
* **domain rules** declared below: date order, household, uniqueness, 30条45, 外字, 清音化, 項目長,
  batch size and cross-file reconciliation.  They read the per-table *rule base*
  (:mod:`juki.quality.base`: residency flags, household counts, the matching 本人確認情報 row),
  scope ``base``.

The test suite runs the whole catalogue on DuckDB and on Spark and compares the failing keys
(a prefecture's or the nation's 本人確認情報 runs on a cluster).

>>> cat = catalogue()
>>> sorted({r.kind for r in cat})[:5]
['check_digit', 'code', 'consistency', 'date_order', 'foreign']
>>> len({r.id for r in cat}) == len(cat)
True
>>> [r.kind for r in row_checks("jumin") if r.items == ("zairyu_shikaku",)]
['required', 'not_applicable', 'length', 'code']
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .. import codes
from ..codes import kana
from ..layouts import LAYOUTS, Item, Layout
from ..layouts.predicate import predicate
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
    description: str                   # Japanese, as reports show it
    ok: Callable = None                # Table -> BooleanColumn: TRUE when the row passes (NULL counts as a pass)
    severity: str = "error"            # error | alert
    needs: tuple[str, ...] = ()        # other files the rule reads (reconciliation)

    @property
    def scope(self) -> str:
        """``row`` when the rule reads nothing but the row (the loader runs those too)."""
        return "row" if self.kind in ROW_KINDS else "base"

    @property
    def severity_label(self) -> str:
        return SEVERITY[self.severity]

    def failing(self, t):
        """TRUE where the row of ``t`` breaks the rule (a NULL outcome passes)."""
        return ~self.ok(t).fill_null(True)


def _present(t, i: Item):
    """The item has a value (a partial date of unknown day counts: 年月日不詳 is a value)."""
    if i.partial:
        return t[i.column].notnull() | (t[f"{i.column}_prec"] == "U").fill_null(False)
    return t[i.column].notnull()


def item_rules(layout: Layout, i: Item) -> list[Rule]:
    """The row checks of one item, from its declaration."""
    import ibis
    t_, c = layout.table, i.column
    out = []
    applies = predicate(i.applies) if i.applies else (lambda t: ibis.literal(True))
    if not i.nullable:
        out.append(Rule(f"{t_}.{c}.required", t_, "required", (c,), f"「{i.name}」は記載が必要",
                        lambda t: ~(applies(t) & ~_present(t, i))))
    if i.applies:
        out.append(Rule(f"{t_}.{c}.not_applicable", t_, "not_applicable", (c,), f"「{i.name}」は対象外の者に記載しない",
                        lambda t: ~(~applies(t).fill_null(False) & _present(t, i))))
    fixed_form = bool(i.format and "{" in i.format and i.format.startswith("^["))
    if i.type == "VARCHAR" and i.length and not fixed_form:
        out.append(Rule(f"{t_}.{c}.length", t_, "length", (c,), f"「{i.name}」は{i.length}文字以内",
                        lambda t: t[c].isnull() | (t[c].length() <= i.length)))
    if i.format:
        out.append(Rule(f"{t_}.{c}.format", t_, "format", (c,), f"「{i.name}」の書式",
                        lambda t: t[c].isnull() | t[c].re_search(i.format)))
    if i.code and i.code not in codes.OPEN_TABLES:
        allowed = list(codes.codes(i.code))
        out.append(Rule(f"{t_}.{c}.code", t_, "code", (c,), f"「{i.name}」はコード表({i.code})の値",
                        lambda t: t[c].isnull() | t[c].isin(allowed)))
    if i.number:
        mod = codes.number_module(i.number)
        if hasattr(mod, "calc_check_digit"):
            out.append(Rule(f"{t_}.{c}.check_digit", t_, "check_digit", (c,), f"「{i.name}」の検査数字",
                            lambda t: mod.is_valid_expr(t[c])))
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
            m, c = i.column, target.column
            out.append(Rule(f"{layout.table}.{m}.matches_length", layout.table, "consistency",
                            (m, c), f"「{i.name}」が「{target.name}」の文字数と一致",
                            lambda t, m=m, c=c: (t[m].isnull() & t[c].isnull()) | (t[m] == t[c].fill_null("").length())))
    return out


# ------------------------------------------------------------------ domain rules

#: 異動事由 that change the registry's make-up but are not population movements (改製, 再製).
NOT_MOVEMENTS = ["17", "18", "27", "28"]


def _stats_codes(kind: str) -> list[str]:
    """異動事由 counted as 記載 or 消除 in the official statistics (the code table's stats column)."""
    return [r["code"] for r in codes.rows("ido_jiyu") if r["stats"] and r["stats"].endswith(kind)
            or (kind == "記載" and r["stats"].startswith(("転入", "出生")))
            or (kind == "消除" and r["stats"].startswith(("転出", "死亡")))]

def _gaiji_flag(*counts):
    """The 外字フラグ the 外字数 imply: '1' when any is above 0, else '0'."""
    import ibis
    total = counts[0].fill_null(0)
    for c in counts[1:]:
        total = total + c.fill_null(0)
    return ibis.ifelse(total > 0, "1", "0")


def domain_rules() -> list[Rule]:
    import ibis
    R = Rule
    entry, removal = _stats_codes("記載"), _stats_codes("消除")
    moving = entry + removal + NOT_MOVEMENTS
    twelve = ibis.interval(years=12)

    def todoke_order(t):
        return ibis.cases((t.todoke_date.isnull(), t.ido_date <= t.shori_date),
                          (t.ido_jiyu.isin(["21", "22"]), t.todoke_date <= t.shori_date),
                          else_=(t.ido_date <= t.todoke_date) & (t.todoke_date <= t.shori_date))

    def zokugara(t):
        z, sex = t.zokugara, t.seibetsu
        wrong = ((z.isin(["03", "05"]) & ((sex != "2") | (t.hh_head_sex != "1")))
                 | (z.isin(["02", "04"]) & ((sex != "1") | (t.hh_head_sex != "2")))
                 | ((z == "06") & (t.seinengappi < t.hh_head_birth + twelve))
                 | (z.isin(["09", "10"]) & (t.seinengappi > t.hh_head_birth - twelve))
                 | (z.isin(["07", "09", "11", "13", "18", "20", "22", "24"]) & (sex != "1"))
                 | (z.isin(["08", "10", "12", "14", "19", "21", "23", "25"]) & (sex != "2")))
        return ~t.is_resident | (t.hh_heads != 1) | (z == "01") | ~wrong

    def birth_first(t):
        return (t.seinengappi <= t.jumin_date) & (t.seinengappi <= t.jusho_date)

    return [
        # 住民基本台帳ファイル
        R("jumin.dates.birth_first", "jumin", "date_order", ("seinengappi", "jumin_date", "jusho_date"),
          "生年月日 ≤ 住民となった日、住所を定めた日", birth_first),
        R("jumin.dates.ido_todoke_shori", "jumin", "date_order", ("ido_date", "todoke_date", "shori_date"),
          "異動年月日 ≤ 届出年月日 ≤ 処理年月日(転出は届出が先、職権は届出なし)", todoke_order),
        R("jumin.foreign.manryo_not_passed", "jumin", "foreign", ("zairyu_manryo",),
          "住民の在留期間の満了日が基準日を過ぎていない",
          lambda t: ~t.is_resident | t.zairyu_manryo.isnull() | (t.zairyu_manryo >= t.as_of)),
        R("jumin.household.one_head", "jumin", "household", ("zokugara",),
          "世帯主は1世帯に1人(2人以上は誤り)", lambda t: ~t.is_resident | (t.zokugara != "01") | (t.hh_heads <= 1)),
        R("jumin.household.no_head", "jumin", "household", ("zokugara",),
          "世帯主のいない世帯(警告: 世帯主変更の確認)", lambda t: ~t.is_resident | (t.hh_heads >= 1), severity="alert"),
        R("jumin.household.head_name", "jumin", "household", ("setainushi_mei",),
          "世帯主名が世帯主の氏名と一致",
          lambda t: ~t.is_resident | (t.hh_heads != 1) | (t.setainushi_mei == t.hh_head_name)),
        R("jumin.household.zokugara", "jumin", "household", ("zokugara", "seibetsu", "seinengappi"),
          "続柄が世帯主との性別・年齢の関係と整合", zokugara),
        R("jumin.unique.kojin_bango", "jumin", "uniqueness", ("kojin_bango",),
          "個人番号は住民の間で一意", lambda t: ~t.is_resident | (t.n_same_kojin_bango == 1)),
        R("jumin.unique.jumin_code", "jumin", "uniqueness", ("jumin_code",),
          "住民票コードは住民の間で一意", lambda t: ~t.is_resident | (t.n_same_jumin_code == 1)),
        R("jumin.address.town", "jumin", "consistency", ("genjusho",),
          "住民の現住所から町丁字を特定できる(できない住民は統計で「不詳」)",
          lambda t: ~t.is_resident | t.town_code.notnull(), severity="alert"),
        # the rows as changes of state (juki.residency.transitions): what the survey's balance needs
        R("jumin.timeline.order", "jumin", "date_order", ("shori_date", "shojo_date"),
          "履歴番号の順に効力が生じる（前の履歴より前に処理・遡った消除がない）",
          lambda t: t.prev_eff.isnull() | (t.eff_date >= t.prev_eff)),
        R("jumin.timeline.entry", "jumin", "consistency", ("ido_kubun", "ido_jiyu"),
          "住民への記載は住民でない者に対して行う（二重の記載・取消し漏れがない）",
          lambda t: ~(t.ido_jiyu.isin(entry) & t.resident_before)),
        R("jumin.timeline.removal", "jumin", "consistency", ("ido_kubun", "ido_jiyu"),
          "消除は住民に対して行う", lambda t: ~(t.ido_jiyu.isin(removal) & ~t.resident_before)),
        R("jumin.timeline.silent", "jumin", "consistency", ("ido_kubun", "ido_jiyu"),
          "記載・消除によらずに住民になる・住民でなくなることがない（消除後の修正など）",
          lambda t: ~(t.ido_jiyu.notin(moving) & (t.resident_before != t.resident_after))),
        R("jumin.reconcile.honnin", "jumin", "reconciliation",
          ("jumin_code", "kojin_bango", "shimei", "seinengappi", "seibetsu", "genjusho"),
          "住民の本人確認情報(現存)が住民票コード・個人番号・基本4情報で一致",
          lambda t: ~t.is_resident | t.honnin_match, needs=("honnin",)),
        # 本人確認情報ファイル
        R("honnin.kana.seion", "honnin", "consistency", ("furigana_shimei", "seion_kana_shimei"),
          "清音化かな氏名がふりがな氏名を清音化したものと一致",
          lambda t: t.seion_kana_shimei == t.furigana_shimei.translate(kana.VOICED, kana.PLAIN)),
        R("honnin.gaiji.flag", "honnin", "consistency", ("gaiji_su_shimei", "gaiji_su_jusho", "gaiji_flag"),
          "外字フラグが外字数と整合",
          lambda t: t.gaiji_flag == _gaiji_flag(t.gaiji_su_shimei, t.gaiji_su_jusho, t.gaiji_su_zen_jusho)),
        R("honnin.dates.birth_first", "honnin", "date_order", ("seinengappi", "jumin_date", "jusho_date"),
          "生年月日 ≤ 住民となった日、住所を定めた日", birth_first),
        R("honnin.reconcile.resident", "honnin", "reconciliation", ("jumin_code",),
          "本人確認情報に対応する住民票がある", lambda t: t.has_resident, needs=("jumin",)),
        R("honnin.current.one", "honnin", "reconciliation", ("record_jokyo_flag",),
          "現存の本人確認情報は1人に1件", lambda t: (t.record_jokyo_flag != "0") | (t.n_current == 1)),
        R("honnin.koshin.increasing", "honnin", "consistency", ("koshin_jun_no", "time_stamp"),
          "更新順番号が本人ごとに時刻順で増加", lambda t: t.prev_koshin.isnull() | (t.koshin_jun_no > t.prev_koshin)),
        # 送付先情報ファイル
        R("sofusaki.batch.ninzu", "sofusaki", "consistency", ("taisho_ninzu",),
          "対象となる人数が同じ送付先管理番号の人数と一致", lambda t: t.taisho_ninzu == t.n_in_batch),
        R("sofusaki.gaiji.flag", "sofusaki", "consistency", ("gaiji_flag", "shimei_gaiji_su", "jusho_gaiji_su"),
          "外字フラグが外字数と整合", lambda t: t.gaiji_flag == _gaiji_flag(t.shimei_gaiji_su, t.jusho_gaiji_su)),
        R("sofusaki.reconcile.resident", "sofusaki", "reconciliation",
          ("jumin_code", "kojin_bango", "shimei", "seinengappi", "seibetsu", "jusho"),
          "送付先情報が住民の現在の記載(個人番号・基本4情報)と一致", lambda t: t.resident_match, needs=("jumin",)),
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


_INDEX: list = [None, {}]      # [the catalogue indexed, {id: rule}]


def get_rule(rule_id: str) -> Rule:
    """The rule of an id (an index of the current catalogue: rebuilt when the catalogue is)."""
    cat = catalogue()
    if _INDEX[0] is not cat:
        _INDEX[:] = [cat, {r.id: r for r in cat}]
    return _INDEX[1][rule_id]
