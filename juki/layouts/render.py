"""Everything derived from the layouts as text: DuckDB DDL, JSON and Markdown.

>>> print(ddl(get("honnin")).splitlines()[0])
CREATE TABLE IF NOT EXISTS honnin (
"""
from __future__ import annotations

import json

from . import CLASSES, LAYOUTS, Layout, get


def _sql_type(item) -> str:
    if item.type == "VARCHAR" and item.length:
        return "VARCHAR"  # DuckDB ignores lengths; enforced by quality rules instead
    return item.type


def ddl(layout: Layout, table: str | None = None) -> str:
    """CREATE TABLE for one layout (optionally under another table name)."""
    name = table or layout.table
    lines = []
    for item in layout.all_columns:
        # only the row key is constrained here: a store must be able to hold the defects that
        # the quality review is there to find (required-when rules live in juki.quality)
        null = " NOT NULL" if item.column in layout.key else ""
        label = item.name if item.no is None else f"{item.no}. {item.name}"
        lines.append(f"    {item.column} {_sql_type(item)}{null}, -- {label}")
    lines.append(f"    PRIMARY KEY ({', '.join(layout.key)})")
    return f"CREATE TABLE IF NOT EXISTS {name} (\n" + "\n".join(lines) + "\n);"


def all_ddl() -> str:
    return "\n\n".join(ddl(layout) for layout in LAYOUTS.values())


def as_json(indent: int | None = 2) -> str:
    return json.dumps([layout.as_dict() for layout in LAYOUTS.values()],
                      ensure_ascii=False, indent=indent)


def as_markdown() -> str:
    out = ["# 特定個人情報ファイル記録項目 (別添2) — juki layouts", "",
           "Generated from `juki/layouts/*.tsv` by `juki layouts --format markdown`; do not edit.", ""]
    out += ["| 区分 (class) | 表示 |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in CLASSES.items()]
    for layout in LAYOUTS.values():
        out += ["", f"## {layout.file} (`{layout.table}`, {len(layout.items)} 項目)", "",
                layout.description, "", f"行キー: {', '.join('`%s`' % k for k in layout.key)}", "",
                "| No. | 項目名 | column | type | 長さ/書式 | null可 | 適用条件 | コード表 | 区分 |",
                "|---:|---|---|---|---|---|---|---|---|"]
        for i in layout.all_columns:
            fmt = " ".join(x for x in (str(i.length) if i.length else "", f"`{i.format}`" if i.format else "") if x)
            fmt = fmt.replace("|", "\\|")
            applies = f"`{i.applies}`" if i.applies else ""
            out.append(f"| {i.no if i.no else '(sys)'} | {i.name} | `{i.column}` | {i.type} | {fmt} | "
                       f"{'○' if i.nullable else ''} | {applies} | {i.code or ''} | {CLASSES[i.sensitivity]} |")
    return "\n".join(out) + "\n"


__all__ = ["ddl", "all_ddl", "as_json", "as_markdown", "get"]
