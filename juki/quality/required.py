"""Required-when rules derived from the layouts: an item that applies must be present (unless
nullable) and an item that does not apply must be empty.

>>> from juki.layouts import get
>>> r = [x for x in rules(get("jumin")) if x.column == "zairyu_shikaku"]
>>> [x.kind for x in r]
['required', 'not_applicable']
"""
from __future__ import annotations

from dataclasses import dataclass

from ..layouts import Layout


@dataclass(frozen=True)
class Rule:
    table: str
    column: str
    kind: str          # required | not_applicable
    failing_sql: str   # WHERE condition selecting failing rows

    @property
    def id(self) -> str:
        return f"{self.table}.{self.column}.{self.kind}"


def rules(layout: Layout) -> list[Rule]:
    out = []
    for i in layout.all_columns:
        applies = f"({i.applies})" if i.applies else "TRUE"
        if not i.nullable:
            out.append(Rule(layout.table, i.column, "required", f"{applies} AND {i.column} IS NULL"))
        if i.applies:
            out.append(Rule(layout.table, i.column, "not_applicable",
                            f"NOT COALESCE({applies}, FALSE) AND {i.column} IS NOT NULL"))
    return out
