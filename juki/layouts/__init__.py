"""The three specific-personal-information files of the PIA (別添2), declared as data.

Each file's items live in a TSV beside this module (``jumin.tsv``, ``honnin.tsv``,
``sofusaki.tsv``): one row per item, in the PIA's order and with the PIA's Japanese
name.  Everything else -- DuckDB DDL, the ``juki layouts`` output, documentation,
quality rules and the de-identified statistics view -- is derived from these
declarations, never written twice.

>>> [len(layout.items) for layout in LAYOUTS.values()]
[48, 36, 61]
>>> get("jumin").item("kojin_bango").name
'個人番号'
>>> get("jumin").key
('atena_no', 'rireki_no')
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..text import squash
from .predicate import predicate

__all__ = [
    "CLASSES", "Item", "Layout", "LAYOUTS", "get", "by_file_name", "TYPES",
]

#: Sensitivity classes (id -> label shown to users).  Ordered from most to least
#: sensitive.  Enforcement lives in one place: :mod:`juki.privacy`.
CLASSES: dict[str, str] = {
    "individual_number": "個人番号",
    "secret": "秘密情報",
    "identifier": "識別子・キー",
    "basic": "基本4情報",
    "resident": "その他の住民記録事項",
    "business": "業務事項",
    "processing": "処理・操作事項",
}

#: Column types allowed in a layout (DuckDB type names) and their ibis names.
TYPES = ("VARCHAR", "INTEGER", "BIGINT", "DATE", "TIME", "TIMESTAMP")
IBIS_TYPES = {"VARCHAR": "string", "INTEGER": "int32", "BIGINT": "int64", "DATE": "date", "TIME": "time",
              "TIMESTAMP": "timestamp"}

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Item:
    """One record item (or a workbench system column when ``no`` is None)."""

    no: int | None
    name: str
    column: str
    type: str
    length: int | None = None
    format: str | None = None          # regular expression the value must match
    nullable: bool = True              # may be empty where the item applies
    applies: str | None = None         # predicate over the row (juki.layouts.predicate); None = always
    code: str | None = None            # code table id (see juki.codes)
    number: str | None = None          # number format module of juki.codes (check digit rules)
    partial: bool = False              # the national standard allows 不詳 parts (年のみ, 年月のみ, 不詳)
    sensitivity: str = "resident"      # key of CLASSES
    identifying: bool = False          # reveals a person by itself (name, address, number ...)
    description: str = ""

    @property
    def class_label(self) -> str:
        return CLASSES[self.sensitivity]

    def as_dict(self) -> dict:
        d = {
            "no": self.no, "name": self.name, "column": self.column,
            "type": self.type, "class": self.sensitivity, "nullable": self.nullable,
        }
        if self.length is not None:
            d["length"] = self.length
        if self.format:
            d["format"] = self.format
        if self.applies:
            d["applies"] = self.applies
        if self.code:
            d["code"] = self.code
        if self.number:
            d["number"] = self.number
        if self.partial:
            d["partial"] = True
        d["identifying"] = self.identifying
        if self.description:
            d["description"] = self.description
        return d


@dataclass(frozen=True)
class Layout:
    """One file: its Japanese name, DuckDB table, row key, items and system columns."""

    file: str
    table: str
    key: tuple[str, ...]
    items: tuple[Item, ...]
    system_columns: tuple[Item, ...] = field(default=())
    description: str = ""

    @property
    def precision_columns(self) -> tuple[Item, ...]:
        """One companion column per partial-date item: its precision (Y, M, U; empty = full date)."""
        return tuple(_sys(f"{i.column}_prec", f"{i.name}（精度）", "VARCHAR",
                          f"Precision of {i.column}: Y year only, M year and month, U unknown; empty = a full date.",
                          nullable=True, sensitivity=i.sensitivity, code="date_precision", length=1)
                     for i in self.items if i.partial)

    @property
    def all_columns(self) -> tuple[Item, ...]:
        """Items in PIA order, their date-precision companions, then the workbench's system columns."""
        return self.items + self.precision_columns + self.system_columns

    @property
    def columns(self) -> list[str]:
        return [i.column for i in self.all_columns]

    def ibis_schema(self) -> dict[str, str]:
        """Column -> ibis type, for expressions compiled without a connection."""
        return {i.column: IBIS_TYPES[i.type] for i in self.all_columns}

    def item(self, column: str) -> Item:
        for i in self.all_columns:
            if i.column == column:
                return i
        raise KeyError(f"{self.table} has no column {column!r}")

    def by_name(self, name: str) -> Item:
        """Look an item up by its Japanese name (spaces and width ignored)."""
        want = squash(name)
        for i in self.all_columns:
            if squash(i.name) == want:
                return i
        raise KeyError(f"{self.file} has no item named {name!r}")

    def columns_of_class(self, *classes: str) -> list[str]:
        return [i.column for i in self.all_columns if i.sensitivity in classes]

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "table": self.table,
            "key": list(self.key),
            "items": [i.as_dict() for i in self.items],
            "system_columns": [i.as_dict() for i in self.system_columns],
        }


def _bool(s: str) -> bool:
    if s not in ("true", "false"):
        raise ValueError(f"expected true/false, got {s!r}")
    return s == "true"


def _read_items(path: Path) -> tuple[Item, ...]:
    items = []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh, delimiter="\t"), start=1):
            if int(row["no"]) != n:
                raise ValueError(f"{path.name}: item numbers must run 1, 2, 3 ...; row {n} has {row['no']}")
            if row["type"] not in TYPES:
                raise ValueError(f"{path.name}: item {n} has unknown type {row['type']!r}")
            if row["class"] not in CLASSES:
                raise ValueError(f"{path.name}: item {n} has unknown class {row['class']!r}")
            if row["applies"]:
                predicate(row["applies"])      # refused here when it leaves the predicate language
            items.append(Item(
                no=n, name=row["name"], column=row["column"], type=row["type"],
                length=int(row["length"]) if row["length"] else None,
                format=row["format"] or None, nullable=_bool(row["nullable"]),
                applies=row["applies"] or None, code=row["code"] or None,
                number=row["number"] or None, partial=_bool(row["partial"]),
                sensitivity=row["class"], identifying=_bool(row["identifying"]),
            ))
    return tuple(items)


def _sys(column, name, type_, description, **kw) -> Item:
    return Item(no=None, name=name, column=column, type=type_, nullable=kw.pop("nullable", False),
                sensitivity=kw.pop("sensitivity", "processing"), description=description, **kw)


LAYOUTS: dict[str, Layout] = {
    "jumin": Layout(
        file="住民基本台帳ファイル", table="jumin", key=("atena_no", "rireki_no"),
        items=_read_items(_HERE / "jumin.tsv"),
        system_columns=(
            _sys("rireki_no", "履歴番号", "INTEGER",
                 "Snapshot number per 宛名番号 (1, 2, 3 ...); the current record is the highest."),
            _sys("town_code", "町丁字コード", "VARCHAR",
                 "The 町丁字 of 現住所 (local code of juki/codes/data/towns.csv), derived on generation/load; "
                 "empty when the address names none (statistics show 不詳).",
                 code="town", sensitivity="resident", length=6, nullable=True),
        ),
        description="既存住基システムの住民記録。異動ごとに行全体の履歴を持つ(除票を含む)。",
    ),
    "honnin": Layout(
        file="本人確認情報ファイル", table="honnin", key=("jumin_code", "koshin_jun_no"),
        items=_read_items(_HERE / "honnin.tsv"),
        description="市町村CSの本人確認情報。更新ごとの履歴を持つ(レコード状況フラグ 0=現存)。",
    ),
    "sofusaki": Layout(
        file="送付先情報ファイル", table="sofusaki", key=("sofusaki_kanri_no", "jumin_code"),
        items=_read_items(_HERE / "sofusaki.tsv"),
        system_columns=(
            _sys("sent_date", "送信年月日", "DATE",
                 "Date the batch was sent to J-LIS; empty until sent.", nullable=True),
        ),
        description="個人番号通知書・交付申請書の送付先。J-LISへ送信後1開庁日で削除。",
    ),
}


def get(table: str) -> Layout:
    try:
        return LAYOUTS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(LAYOUTS)}") from None


def by_file_name(name: str) -> Layout:
    for layout in LAYOUTS.values():
        if squash(layout.file) == squash(name) or layout.table == name:
            return layout
    raise KeyError(f"unknown file {name!r}")
