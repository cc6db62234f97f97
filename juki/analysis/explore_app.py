"""``juki explore``: the explorer notebook served as an app by Voilà.

Voilà shows the widgets and their output only (no code cells, no kernel prompt; a browser cannot
send code to the kernel).  The server listens on 127.0.0.1 only and asks for a token made
fresh for each start, so another account on the same machine cannot open the analyst's page.
The token travels in the server's environment (``JUPYTER_TOKEN``), which only its owner can read
(``/proc/PID/environ`` is 0400), never on the command line (``/proc/PID/cmdline`` is world-readable).
The kernel runs as the analyst's OS account and asks the table service (:mod:`juki.tables`) for
every number; in an installation it cannot open any store at all.  Nothing loads from the internet: the
``juki`` template drops the lab template's CDN stylesheets (Voilà's own bundle has the icons).

>>> cmd = command(8866)
>>> "--Voila.ip=127.0.0.1" in cmd, "--strip_sources=True" in cmd, any("cdn" in c or "Voila.token" in c for c in cmd)
(True, True, False)
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from .. import paths
from ..errors import JukiError

NOTEBOOK = "explore.ipynb"
CULL_IDLE = 600          # seconds an unconnected kernel may stay idle
CULL_EVERY = 60
#: ``voila/templates/juki``: Voilà's lab template without CDN stylesheets (a data dir for JUPYTER_PATH).
TEMPLATES = Path(__file__).resolve().parent


def command(port: int) -> list[str]:
    nb = paths.notebooks() / NOTEBOOK
    return [sys.executable, "-m", "voila", str(nb), f"--port={port}", "--Voila.ip=127.0.0.1", "--no-browser",
            "--strip_sources=True", "--show_tracebacks=False", "--Voila.auto_token=True",
            # a closed tab ends its kernel (the page's shutdown POST, see the template); a kernel
            # left behind (a crashed browser) is culled once idle with no page connected
            f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE}", f"--MappingKernelManager.cull_interval={CULL_EVERY}",
            "--MappingKernelManager.cull_connected=False",
            # one kernel kept started and executed ahead of the next page view (first load in ~1 s)
            "--preheat_kernel=True", "--pool_size=1",
            "--template=juki", f"--Voila.root_dir={paths.notebooks()}"]


def environment(analysis_db, token: str) -> dict:
    """The server's environment: the token, the analysis store it serves, GX analytics off."""
    from .. import tables
    jupyter_path = os.pathsep.join(p for p in (str(TEMPLATES), os.environ.get("JUPYTER_PATH", "")) if p)
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "JUPYTER_PATH": jupyter_path, "JUPYTER_TOKEN": token}
    env.pop("JUPYTER_TOKEN_FILE", None)
    if tables.remote():
        tables.source()                            # one line when the service refuses or nothing is published
        return env
    from . import store as astore
    db = Path(analysis_db) if analysis_db else paths.analysis_db()
    astore.check_published(None, str(db))        # one-line error when nothing is published
    return {**env, "JUKI_ANALYSIS_DB": str(db.resolve())}


def url(port: int, token: str) -> str:
    return f"http://127.0.0.1:{port}/?token={token}"


def serve(port: int = 8866, analysis_db=None, open_browser: bool = False) -> int:
    """Run the Voilà server until interrupted; prints the address to open."""
    if not 1024 <= port <= 65535:
        raise JukiError(f"--port must be between 1024 and 65535 (got {port})")
    if not (paths.notebooks() / NOTEBOOK).exists():
        raise JukiError(f"no {NOTEBOOK} in {paths.notebooks()}: run juki from its checkout (or set JUKI_HOME)")
    token = secrets.token_urlsafe(24)
    env = environment(analysis_db, token)
    print(f"explorer: {url(port, token)}  (127.0.0.1 only; Ctrl-C stops it)", flush=True)
    if open_browser:
        import webbrowser
        webbrowser.open(url(port, token))
    cmd = command(port)
    os.execve(cmd[0], cmd, env)   # Voilà becomes this process: Ctrl-C and SIGTERM reach it (and its kernels)
