"""Column-name profiles: how a vendor's export names the items, and codes it writes differently.

The default profile is the PIA's own item names (別添2) and the layout's column ids.  A profile
file (``data/profiles/<name>.toml``, or a path) adds, per file, header names for items and
value maps for code items::

    name = "vendor_a"
    description = "A社 住民記録システム CSV出力"
    [columns.jumin]
    "個人コード" = "atena_no"
    "生年月日（和暦）" = "seinengappi"
    [values.jumin.seibetsu]
    "男" = "1"
    "女" = "2"

>>> p = Profile.default()
>>> p.column("jumin", "宛名番号"), p.column("jumin", "外字数（氏名）"), p.column("honnin", "外字数（氏名）")
('atena_no', None, 'gaiji_su_shimei')
>>> p.closest("jumin", "宛名番")[0]
'宛名番号'
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..errors import JukiError
from ..layouts import LAYOUTS
from ..text import squash


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    columns: dict = field(default_factory=dict)   # table -> {squashed header: column}
    values: dict = field(default_factory=dict)    # table -> {column: {value: code}}

    @classmethod
    def default(cls) -> "Profile":
        return cls("pia", "特定個人情報保護評価書 別添2 の項目名（既定）")

    def column(self, table: str, header: str) -> str | None:
        """The layout column a header cell names (PIA item name, column id or the profile's alias)."""
        h = squash(header)
        lay = LAYOUTS[table]
        if header in lay.columns:
            return header
        alias = self.columns.get(table, {}).get(h)
        if alias:
            return alias
        for i in lay.all_columns:
            if squash(i.name) == h:
                return i.column
        return None

    def closest(self, table: str, header: str, n: int = 3) -> list[str]:
        """The item names most like ``header``: similarity, with a bonus for a common beginning
        (宛名コード is nearer 宛名番号 than 住民票コード)."""
        h = squash(header)

        def score(name: str) -> float:
            s = squash(name)
            prefix = len(next((p for p in (s[:k] for k in range(min(len(s), len(h)), 0, -1)) if h.startswith(p)), ""))
            return difflib.SequenceMatcher(None, h, s).ratio() + 0.5 * prefix / max(len(h), 1)
        scored = sorted(((score(i.name), i.name) for i in LAYOUTS[table].items), reverse=True)
        return [name for sc, name in scored[:n] if sc >= 0.4]


def load(name: str | None) -> Profile:
    """``None`` or ``pia``: the default; else ``data/profiles/<name>.toml`` or a path to a TOML file."""
    if not name or name == "pia":
        return Profile.default()
    from ..tomlfile import read
    p = Path(name)
    if not p.suffix:
        p = paths.config_file("profiles", name)
    data = read(p, "column profile")
    cols, vals = {}, {}
    for table, mapping in data.get("columns", {}).items():
        if table not in LAYOUTS:
            raise JukiError(f"column profile {p.name}: unknown file {table!r}")
        for header, column in mapping.items():
            if column not in LAYOUTS[table].columns:
                raise JukiError(f"column profile {p.name}: {table} has no column {column!r} (for {header!r})")
        cols[table] = {squash(h): c for h, c in mapping.items()}
    for table, per_col in data.get("values", {}).items():
        if table not in LAYOUTS:
            raise JukiError(f"column profile {p.name}: unknown file {table!r}")
        for column in per_col:
            if column not in LAYOUTS[table].columns:
                raise JukiError(f"column profile {p.name}: {table} has no column {column!r}")
        vals[table] = {c: {str(k): str(v) for k, v in m.items()} for c, m in per_col.items()}
    return Profile(data.get("name", p.stem), data.get("description", ""), cols, vals)
