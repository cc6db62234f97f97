"""``juki export``: a table to CSV for one recipient, with only the items its profile names.

PIA: 提供・移転先に応じた必要項目のみ.  An export profile (``data/export_profiles/<name>.toml``)
names its entry in the register of recipients (:mod:`.recipients`: kind, legal basis, files,
items, 個人番号, period in force -- an export the register does not cover is refused), the
purpose, and the items it sends (by default the register entry's); the built-in
``default`` profile gives every item but the individual number and secrets.  The 個人番号 leaves
only under a profile that allows it and only for an operator with the ``number_clerk`` role.
The log records recipient, purpose, item list, row count, the file's SHA-256 and the persons
exported (a key list kept with the log).  The file is written to a temporary name and renamed,
readable by its owner only.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .. import atomic, paths, store
from ..codes.era import to_era_code, to_wareki
from ..errors import JukiError
from ..layouts import LAYOUTS

DATE_STYLES = {
    "iso": lambda d: d.isoformat(),
    "yyyymmdd": lambda d: d.strftime("%Y%m%d"),
    "wareki": to_wareki,
    "era-code": to_era_code,
}
#: Classes that never leave without a profile naming them.
WITHHELD = ("individual_number", "secret")


@dataclass(frozen=True)
class ExportProfile:
    name: str
    recipient: str
    purpose: str
    items: dict            # table -> list of columns
    allows_number: bool = False
    allows_secret: bool = False
    digest: str = "built-in"          # SHA-256 of the profile file (logged with every export)
    register: str | None = None       # its entry in the register of recipients (提供先・移転先台帳)

    @classmethod
    def default(cls) -> "ExportProfile":
        from .recipients import DEFAULT_ENTRY
        return cls("default", "庁内の利用（個人番号なし）", "住民基本台帳事務（個人番号を含まない）",
                   {t: [i.column for i in lay.all_columns if i.sensitivity not in WITHHELD] for t, lay in LAYOUTS.items()},
                   register=DEFAULT_ENTRY)


@dataclass
class ExportResult:
    rows: int
    recipient: str
    purpose: str
    items: list
    sha256: str
    path: Path | None = None           # None: written to standard output


def profile_path(name: str) -> Path:
    """A profile by name from the configuration folder.  A path to a file of one's own is
    accepted only from an administrator in a single-user checkout (a test installation)."""
    from ..access import guard
    from ..server import installation
    params = {"profile": name[:200]}
    if re.match(r"^[0-9A-Za-z_-]+$", name):
        p = paths.config_file("export_profiles", name)
        if not p.exists():
            guard.refuse("export", "profile", f"no export profile {name!r} in {p.parent}", params)
        return p
    if installation() is not None:
        guard.refuse("export", "profile", f"export profile {name!r}: give the name of a profile in "
                     f"{paths.config_file('export_profiles', 'x').parent}, not a path (profiles are root's configuration)",
                     params)
    guard.require("custom_config", "export profile", params=params)
    return Path(name)


def load_profile(name: str | None) -> ExportProfile:
    if not name or name == "default":
        return ExportProfile.default()
    from ..tomlfile import read
    p = profile_path(name)
    d = read(p, "export profile")
    if "items" not in d and d.get("register"):          # the register's items, written once
        from .recipients import load as register
        entry = register().get(str(d["register"]))
        if entry is not None and entry.items is not None:
            d["items"] = {t: list(c) for t, c in entry.items.items()}
    for k in ("recipient", "purpose", "items"):
        if k not in d:
            raise JukiError(f"export profile {p.name}: missing {k}")
    items = {}
    for table, cols in d["items"].items():
        if table not in LAYOUTS:
            raise JukiError(f"export profile {p.name}: unknown file {table!r}")
        cols = [i.column for i in LAYOUTS[table].all_columns] if cols == "all" else list(cols)
        unknown = [c for c in cols if c not in LAYOUTS[table].columns]
        if unknown:
            raise JukiError(f"export profile {p.name}: {table} has no column(s) {', '.join(unknown)}")
        items[table] = cols
    allows = bool(d.get("allows_number", False))
    secret = bool(d.get("allows_secret", False))
    for table, cols in items.items():
        kinds = {LAYOUTS[table].item(c).sensitivity for c in cols}
        if "secret" in kinds and not secret:
            raise JukiError(f"export profile {p.name}: lists a secret (コンビニ交付利用暗証番号の保存値) "
                            "but does not set allows_secret = true")
        if "individual_number" in kinds and not allows:
            raise JukiError(f"export profile {p.name}: lists 個人番号 but does not set allows_number = true")
    return ExportProfile(d.get("name", p.stem), d["recipient"], d["purpose"], items, allows, secret,
                         hashlib.sha256(p.read_bytes()).hexdigest(), d.get("register"))


def export(table: str, out, db=None, profile: str | None = "default", encoding: str = "utf-8", dates: str = "iso",
           header: str = "ja") -> ExportResult:
    from ..access import guard
    from ..quality.drilldown import persons_of
    if table not in LAYOUTS:
        raise JukiError(f"unknown table {table!r}; known: {', '.join(LAYOUTS)}")
    if dates not in DATE_STYLES:
        raise JukiError(f"unknown date style {dates!r}; known: {', '.join(DATE_STYLES)}")
    if encoding not in ("utf-8", "utf-8-sig", "cp932"):
        raise JukiError("encoding must be utf-8, utf-8-sig or cp932")
    prof = load_profile(profile)
    if table not in prof.items:
        raise JukiError(f"export profile {prof.name} gives {prof.recipient} nothing of {LAYOUTS[table].file}")
    layout = LAYOUTS[table]
    cols = prof.items[table]
    from .. import outputs
    with_number = any(layout.item(c).sensitivity == "individual_number" for c in cols)
    with_secret = any(layout.item(c).sensitivity == "secret" for c in cols)
    params = {"file": str(out)[:200], "recipient": prof.recipient, "purpose": prof.purpose,
              "profile": prof.name, "profile_sha256": prof.digest, "register": prof.register,
              "items": [layout.item(c).name for c in cols], "encoding": encoding, "dates": dates}
    from .recipients import admit
    entry = admit(prof.register, prof.name, table, cols, with_number, with_secret, params)
    params.update(recipient=entry.name, kind=entry.kind, basis=entry.basis)
    import datetime as dt
    if entry.erase_by(dt.date.today()):                 # handed to a contractor: to be erased, and confirmed
        params["erase_by"] = entry.erase_by(dt.date.today()).isoformat()
    with guard.entry("export", table, params=params, number_accessed=with_number,
                     allowed={"number_clerk"} if with_number else None) as g:
        dest = outputs.target(str(out))
        con = store.open_duckdb(db)
        try:
            n, digest, keys = _write(con, layout, cols, dest, encoding, dates, header)
            g.persons = [k[0] for k in keys] if table == "jumin" else persons_of(con, table, keys)
        finally:
            con.close()
        g.records = n
        g.detail = f"{dest or '(standard output)'} sha256 {digest}"
    return ExportResult(n, prof.recipient, prof.purpose, cols, digest, dest)


def _write(con, layout, cols, out: Path, encoding, dates, header):
    fmt = DATE_STYLES[dates]
    kinds = [layout.item(c).type for c in cols]
    n, keys = 0, []
    h = hashlib.sha256()
    if out is None:                    # standard output: the caller's own shell writes the file
        import sys
        import tempfile
        with tempfile.TemporaryDirectory(dir=atomic.private_dir(paths.exports())) as d:
            res = _write(con, layout, cols, Path(d) / "export.csv", encoding, dates, header)
            with open(Path(d) / "export.csv", "rb") as fh:
                while chunk := fh.read(1 << 20):
                    sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        return res
    with atomic.creating(out) as tmp:
        try:
            with open(tmp, "w", encoding=encoding, newline="", errors="strict") as fh:
                w = csv.writer(fh, lineterminator="\r\n")
                w.writerow([layout.item(c).name if header == "ja" else c for c in cols])
                cur = con.execute(f"SELECT {', '.join(cols)}, {', '.join(layout.key)} FROM {layout.table} "
                                  f"ORDER BY {', '.join(layout.key)}")
                while batch := cur.fetchmany(50_000):
                    for row in batch:
                        w.writerow(["" if v is None else fmt(v) if k == "DATE" else
                                    v.strftime("%H:%M:%S") if k == "TIME" else
                                    v.isoformat() if k == "TIMESTAMP" else str(v) for v, k in zip(row, kinds)])
                        keys.append([str(x) for x in row[len(cols):]])
                    n += len(batch)
        except UnicodeEncodeError as e:
            raise JukiError(f"a value cannot be written in {encoding} ({e.object[e.start:e.end]!r} is outside it); "
                            "use utf-8") from None
        h.update(Path(tmp).read_bytes())
    return n, h.hexdigest(), keys
