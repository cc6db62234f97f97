"""``juki run NOTEBOOK -p NAME VALUE``: Papermill into a run folder, then HTML.

A run folder ``reports/<YYYYmmdd-HHMMSS>_<notebook>/`` holds the input notebook, the
parameters (``parameters.json``), the executed notebook, the HTML report and ``status.json``.
While running it is named ``….running``; a failed run ends as ``….failed`` with the error in
``status.json``, so a half report never looks complete.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import JukiError

KERNEL = os.environ.get("JUKI_KERNEL", "juki")


@dataclass
class RunResult:
    folder: Path
    ok: bool
    html: Path | None
    error: str | None = None
    seconds: float = 0.0


def _loggable(values: dict) -> dict:
    """Parameters as logged: notebook parameters are dates, flags, counts and paths by design;
    long strings are cut so nothing larger can slip into the log."""
    return {k: (v[:80] if isinstance(v, str) else v) for k, v in values.items()}


def run_dir() -> Path:
    """Inside a notebook run by ``juki run``: the run folder; elsewhere the current folder."""
    return Path(os.environ.get("JUKI_RUN_DIR", "."))


def notebook_path(name: str) -> Path:
    nb = paths.notebooks() / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not nb.is_file():
        known = sorted(p.stem for p in paths.notebooks().glob("*.ipynb"))
        raise JukiError(f"unknown notebook {name!r}; known: {', '.join(known)}")
    return nb


def notebook_parameters(nb: Path) -> dict:
    """Declared parameters (name -> default value) of a notebook's ``parameters`` cell."""
    import papermill as pm
    declared = pm.inspect_notebook(str(nb))
    out = {}
    for name, info in declared.items():
        default = info.get("default")
        try:
            out[name] = eval(default, {"__builtins__": {}}, {}) if default is not None else None  # literal defaults only
        except Exception:
            out[name] = default
    return out


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
    if name == "as_of" or name.endswith("_date") or name.startswith("date_"):
        parse_date(raw, name)
    if default is None and raw.lower() in ("none", "null", ""):
        return None
    return raw


def parse_date(raw: str, what: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise JukiError(f"{what}: {raw!r} is not a valid date (YYYY-MM-DD)") from None


def _kernel() -> str:
    from jupyter_client.kernelspec import KernelSpecManager
    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL in specs:
        return KERNEL
    if "python3" in specs:
        return "python3"
    raise JukiError(f"no Jupyter kernel {KERNEL!r}: run the README's setup command")


def prepare_parameters(nb: Path, params: list[tuple[str, str]], db: str | None) -> dict:
    declared = notebook_parameters(nb)
    out = {}
    for name, raw in params:
        if name not in declared:
            raise JukiError(f"notebook {nb.stem} has no parameter {name!r}; "
                            f"known: {', '.join(declared) or '(none)'}")
        out[name] = coerce(name, raw, declared[name])
    if db is not None and "db" in declared:
        out["db"] = str(Path(db).resolve())
    return out


def notebook_roles(nb: Path) -> set:
    """Roles a notebook declares in its metadata (``juki.roles``); none declared = administrator."""
    import nbformat
    meta = nbformat.read(nb, as_version=4).metadata.get("juki", {})
    return set(meta.get("roles", ["administrator"]))


def run_notebook(name: str, params: list[tuple[str, str]] | None = None, db: str | None = None,
                 reports_dir: Path | None = None, folder_name: str | None = None,
                 operator: str | None = None) -> RunResult:
    import nbformat
    import papermill as pm

    from ..audit import guard, oplog, roles
    from .html import render

    nb = notebook_path(name)
    values = prepare_parameters(nb, params or [], db)
    op_id = roles.current_id(operator)
    needs = notebook_roles(nb)
    try:
        op = roles.check(roles.load(), op_id, nb.stem, needs)
    except roles.Refused as e:
        oplog.append("run", nb.stem, operator=op_id, params=_loggable(values), outcome="refused", detail=str(e))
        raise
    base = Path(reports_dir) if reports_dir else paths.reports()
    base.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    final = base / (folder_name or f"{stamp}_{nb.stem}")
    n = 1
    while final.exists() or final.with_name(final.name + ".failed").exists():
        n += 1
        final = base / f"{folder_name or f'{stamp}_{nb.stem}'}-{n}"
    running = final.with_name(final.name + ".running")
    running.mkdir(parents=True)
    shutil.copy2(nb, running / "input.ipynb")
    (running / "parameters.json").write_text(json.dumps(values, ensure_ascii=False, indent=2), encoding="utf-8")
    env_db = os.environ.get("JUKI_DB")
    if db is not None:
        os.environ["JUKI_DB"] = str(Path(db).resolve())
    os.environ["JUKI_RUN_DIR"] = str(running)  # where a notebook writes its files (see run_dir())
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in scheduled notebooks
    env_op = os.environ.get("JUKI_OPERATOR")
    os.environ["JUKI_OPERATOR"] = op.id
    t0 = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(str(nb), str(running / "output.ipynb"), parameters=values,
                            kernel_name=_kernel(), cwd=str(paths.root()), progress_bar=False,
                            log_output=False, request_save_on_cell_execute=False)
    except pm.PapermillExecutionError as e:
        error = f"cell {e.exec_count}: {e.ename}: {e.evalue}".splitlines()[0]
    except Exception as e:  # kernel death, missing kernel ...
        error = f"{type(e).__name__}: {e}".splitlines()[0]
    finally:
        os.environ.pop("JUKI_RUN_DIR", None)
        if env_op is None:
            os.environ.pop("JUKI_OPERATOR", None)
        else:
            os.environ["JUKI_OPERATOR"] = env_op
        if db is not None:
            if env_db is None:
                os.environ.pop("JUKI_DB", None)
            else:
                os.environ["JUKI_DB"] = env_db
    html_path = None
    if error is None:
        try:
            out_nb = nbformat.read(running / "output.ipynb", as_version=4)
            html_path = running / f"{nb.stem}.html"
            tmp = html_path.with_suffix(".html.tmp")
            tmp.write_text(render(out_nb, nb.stem), encoding="utf-8")
            os.replace(tmp, html_path)
        except Exception as e:
            error = f"HTML rendering failed: {type(e).__name__}: {e}".splitlines()[0]
    seconds = time.perf_counter() - t0
    status = {"notebook": nb.stem, "status": "ok" if error is None else "failed", "error": error,
              "parameters": values, "seconds": round(seconds, 2),
              "finished_at": dt.datetime.now().isoformat(timespec="seconds")}
    (running / "status.json").write_text(json.dumps(status, ensure_ascii=False, indent=2), encoding="utf-8")
    events = guard.collected(running)
    records = sum(e["records"] or 0 for e in events) if any(e["records"] is not None for e in events) else None
    oplog.append("run", nb.stem, operator=op.id, role=roles.primary_role(op, needs), params=_loggable(values),
                 records=records, outcome="ok" if error is None else "failed",
                 number_accessed=any(e["number_accessed"] for e in events),
                 detail=(error or "") + "".join(f" [{e['action']} {e['target']}: {e['outcome']}]" for e in events))
    target = final if error is None else final.with_name(final.name + ".failed")
    os.replace(running, target)
    html_final = target / html_path.name if (html_path and error is None) else None
    return RunResult(folder=target, ok=error is None, html=html_final, error=error, seconds=seconds)
