"""``juki run NOTEBOOK -p NAME VALUE``: Papermill into a run folder, then HTML.

The run is a pipeline of small steps: :func:`resolve` the notebook, read its :class:`Spec`
(parameters with their defaults from ``papermill.inspect_notebook``, roles, which store it
reads), :func:`convert` the command-line values, check the operator's role (the audit guard),
:func:`precheck` the store, :func:`make_folder`, :func:`execute`, :func:`render`, :func:`record`.

Parameters are the only channel into the kernel: the store path, the run folder and the
operator are parameters too (``db``, ``run_dir``, ``operator``), set by the runner only, and
Papermill records them in the executed notebook's metadata.

A run folder ``reports/<YYYYmmdd-HHMMSS>_<notebook>/`` holds the input notebook, the
parameters (``parameters.json``), the executed notebook, the HTML report and ``status.json``.
While running it is named ``….running``; a failed run ends as ``….failed`` with the error in
``status.json``, so a half report never looks complete.
"""
from __future__ import annotations

import ast
import datetime as dt
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .. import atomic, paths
from ..errors import JukiError

KERNEL = os.environ.get("JUKI_KERNEL", "juki")
#: Parameters only the runner sets.
RESERVED = ("db", "run_dir", "operator")


@dataclass
class RunResult:
    folder: Path
    ok: bool
    html: Path | None
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Spec:
    path: Path
    parameters: dict          # name -> default (a Python literal)
    roles: frozenset
    store: str                # registry | analysis | none

    @property
    def name(self) -> str:
        return self.path.stem


# ------------------------------------------------------------------ steps

NAME = re.compile(r"^[0-9A-Za-z_]+$")


def resolve(name: str) -> Path:
    """An installed notebook, by name only: no path, no traversal, no symlink out of the folder.

    >>> resolve("../../tmp/evil")
    Traceback (most recent call last):
    ...
    juki.errors.JukiError: notebook '../../tmp/evil': give the name of an installed notebook (e.g. 01_data_quality), not a path
    """
    stem = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
    if not NAME.match(stem):
        raise JukiError(f"notebook {name!r}: give the name of an installed notebook (e.g. 01_data_quality), not a path")
    folder = paths.notebooks().resolve()
    nb = folder / f"{stem}.ipynb"
    known = sorted(p.stem for p in folder.glob("*.ipynb"))
    if stem not in known or nb.is_symlink() or nb.resolve().parent != folder:
        raise JukiError(f"unknown notebook {name!r}; known: {', '.join(known)}")
    return nb


def notebook_parameters(nb: Path) -> dict:
    """Declared parameters (name -> default value) of a notebook's ``parameters`` cell."""
    import papermill as pm
    out = {}
    for name, info in pm.inspect_notebook(str(nb)).items():
        default = info.get("default")
        try:
            out[name] = ast.literal_eval(default) if default is not None else None
        except (ValueError, SyntaxError):
            out[name] = default
    return out


def spec(nb: Path) -> Spec:
    """A notebook's parameters and store from the notebook; its roles from permissions.toml only."""
    import nbformat

    from ..access.roles import notebook_roles
    meta = nbformat.read(nb, as_version=4).metadata.get("juki", {})
    store = meta.get("store", "registry")
    if store not in ("registry", "analysis", "none"):
        raise JukiError(f"notebook {nb.stem}: unknown store {store!r}")
    return Spec(nb, notebook_parameters(nb), notebook_roles(nb.stem), store)


def coerce(name: str, raw: str, default):
    """Type a command-line value by the parameter's default (int, float, bool, date or str).

    >>> coerce('n', '5', 1), coerce('dry_run', 'false', True), coerce('as_of', '2026-01-01', None)
    (5, False, '2026-01-01')
    >>> coerce('n', 'five', 1)
    Traceback (most recent call last):
    ...
    juki.errors.JukiError: parameter n: 'five' is not an integer
    """
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise JukiError(f"parameter {name}: {raw!r} is not true/false")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise JukiError(f"parameter {name}: {raw!r} is not an integer") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise JukiError(f"parameter {name}: {raw!r} is not a number") from None
    if name == "as_of" or name.endswith("_date") or name.startswith("date_") or name.startswith("period_"):
        parse_date(raw, name)
    if default is None and raw.lower() in ("none", "null", ""):
        return None
    return raw


def parse_date(raw: str, what: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise JukiError(f"{what}: {raw!r} is not a valid date (YYYY-MM-DD)") from None


def convert(sp: Spec, params: list[tuple[str, str]]) -> dict:
    out = {}
    for name, raw in params:
        if name in RESERVED:
            raise JukiError(f"parameter {name} is set by juki run itself" + (" (use --db)" if name == "db" else ""))
        if name not in sp.parameters:
            raise JukiError(f"notebook {sp.name} has no parameter {name!r}; "
                            f"known: {', '.join(k for k in sp.parameters if k not in RESERVED) or '(none)'}")
        out[name] = coerce(name, raw, sp.parameters[name])
    return out


def precheck(sp: Spec, db, values: dict) -> None:
    """Before anything runs: the store the notebook reads exists and says what date it describes."""
    if sp.store == "registry":
        from .. import residency, store
        path = store.db_path(db)
        if not path.exists():
            raise JukiError(f"no store at {path}: run 'juki generate' or 'juki load' first (or set --db / JUKI_DB)")
        if "as_of" in sp.parameters and not values.get("as_of"):
            con = store.open_duckdb(path)
            try:
                residency.reference_date(con, None)
            finally:
                con.close()
    elif sp.store == "analysis":
        from ..access import guard
        from ..analysis import store as astore
        from ..stats.policy import load
        astore.check_published(values.get("as_of"), db)
        if "threshold" in values:   # a floor analysts cannot lower (refused here, before anything runs)
            load().check_threshold(values["threshold"], guard.has_role("below_floor"))


def make_folder(sp: Spec, reports_dir: Path | None, folder_name: str | None) -> Path:
    base = atomic.private_dir(Path(reports_dir) if reports_dir else paths.reports())
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    final = base / (folder_name or f"{stamp}_{sp.name}")
    n = 1
    while final.exists() or final.with_name(final.name + ".failed").exists():
        n += 1
        final = base / f"{folder_name or f'{stamp}_{sp.name}'}-{n}"
    running = final.with_name(final.name + ".running")
    atomic.private_dir(running)
    shutil.copy2(sp.path, running / "input.ipynb")
    return running


def _kernel() -> str:
    from jupyter_client.kernelspec import KernelSpecManager
    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL in specs:
        return KERNEL
    if "python3" in specs:
        return "python3"
    raise JukiError(f"no Jupyter kernel {KERNEL!r}: run the README's setup command")


def execute(sp: Spec, folder: Path, values: dict) -> str | None:
    """Run the notebook with Papermill; the error line, or None."""
    import papermill as pm

    from .quiet import kernel_manager_class, quiet_kernels
    try:
        with quiet_kernels():
            # the kernel starts in the run folder; not Papermill's cwd=, which changes this whole
            # process's directory (a report runs notebooks side by side, in threads)
            pm.execute_notebook(str(sp.path), str(folder / "output.ipynb"), parameters=values,
                                kernel_name=_kernel(), resources={"metadata": {"path": str(folder)}}, progress_bar=False,
                                log_output=False, request_save_on_cell_execute=False,
                                kernel_manager_class=kernel_manager_class())
    except pm.PapermillExecutionError as e:
        return f"cell {e.exec_count}: {e.ename}: {e.evalue}".splitlines()[0]
    except Exception as e:  # kernel death, missing kernel ...
        return f"{type(e).__name__}: {e}".splitlines()[0]
    return None


def render(sp: Spec, folder: Path) -> tuple[Path | None, str | None]:
    import nbformat

    from .html import render as to_html
    try:
        out_nb = nbformat.read(folder / "output.ipynb", as_version=4)
        path = folder / f"{sp.name}.html"
        atomic.atomic_write_text(path, to_html(out_nb, sp.name))
        return path, None
    except Exception as e:
        return None, f"HTML rendering failed: {type(e).__name__}: {e}".splitlines()[0]


def record(sp: Spec, folder: Path, values: dict, error: str | None, seconds: float) -> None:
    atomic.atomic_write_json(folder / "status.json", {
        "notebook": sp.name, "status": "ok" if error is None else "failed", "error": error,
        "parameters": values, "seconds": round(seconds, 2),
        "finished_at": dt.datetime.now().isoformat(timespec="seconds")})


def _loggable(values: dict) -> dict:
    """Parameters as logged: notebook parameters are dates, flags, counts and paths by design;
    long strings are cut so nothing larger can slip into the log."""
    return {k: (v[:80] if isinstance(v, str) else v) for k, v in values.items()}


# ------------------------------------------------------------------ the pipeline

def run_notebook(name: str, params: list[tuple[str, str]] | None = None, db: str | None = None,
                 reports_dir: Path | None = None, folder_name: str | None = None,
                 extra: dict | None = None, flag: str | None = None) -> RunResult:
    """Run one notebook; ``extra`` passes runner-made values (a report's folder) to parameters it declares."""
    from ..access import guard
    try:
        nb = resolve(name)
    except JukiError as e:          # a path, a traversal, an unknown name: refused and logged
        guard.refuse("run", name[:80], str(e), flag=flag)
    sp = spec(nb)
    values = convert(sp, params or [])
    for k, v in (extra or {}).items():
        if k in sp.parameters:
            values[k] = v
    with guard.entry("run", sp.name, params=_loggable(values), allowed=sp.roles, flag=flag) as g:
        precheck(sp, db, values)
        folder = make_folder(sp, reports_dir, folder_name)
        kernel_values = {**values, "run_dir": str(folder), "operator": g.operator}
        if "db" in sp.parameters:
            kernel_values["db"] = str(Path(db).resolve()) if db else None
        atomic.atomic_write_json(folder / "parameters.json", kernel_values)
        t0 = time.perf_counter()
        error = execute(sp, folder, {k: v for k, v in kernel_values.items() if k in sp.parameters})
        html = None
        if error is None:
            html, error = render(sp, folder)
        seconds = time.perf_counter() - t0
        record(sp, folder, kernel_values, error, seconds)
        events = guard.collected(folder)
        if any(e["records"] is not None for e in events):
            g.records = sum(e["records"] or 0 for e in events)
        g.number_accessed = any(e["number_accessed"] for e in events)
        touched = [p for e in events for p in (e.get("persons") or [])]
        if touched or any(e.get("persons") is not None for e in events):
            g.persons = touched
        g.flags = sorted({f for e in events for f in e.get("flags", [])})
        target = folder.with_name(folder.name[: -len(".running")] + ("" if error is None else ".failed"))
        out = f" -> {target / html.name} sha256 {atomic.sha256_file(html)}" if html else f" -> {target}"
        g.detail = ((error or "") + out + "".join(f" [{e['action']} {e['target']}: {e['outcome']}]" for e in events))[:1000]
        atomic.move_dir(folder, target)
        if error is not None:
            g.outcome = "failed"
    return RunResult(folder=target, ok=error is None, html=target / html.name if html else None,
                     error=error, seconds=seconds)
