"""``juki explore`` in a real browser: Voilà serves the explorer on 127.0.0.1, headless Chromium
changes every widget and sees the table follow, the download carries the shown table, nothing
is fetched from the internet, and each query is logged without its numbers.

Needs Debian's Chromium (``apt-get install chromium``) and Playwright (a dev dependency); the
test says so and skips when the browser is absent -- it never passes without a browser.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import AS_OF

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_db):
    from juki.analysis.publish import publish
    folder = tmp_path_factory.mktemp("explore")
    analysis = folder / "analysis.duckdb"
    publish(db=small_db, as_of=AS_OF, out=analysis)
    port = _free_port()
    env = {**os.environ, "JUKI_ANALYSIS_DB": str(analysis)}
    proc = subprocess.Popen([sys.executable, "-m", "juki", "explore", "--no-browser", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    first = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", first)
    assert m, f"juki explore printed no address: {first!r} {proc.stderr.read() if proc.poll() is not None else ''}"
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.3)
    yield m.group(1), port, folder
    os.killpg(proc.pid, signal.SIGTERM)      # Voilà and the kernels it started
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (bin/setup installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(server, browser):
    url, _, folder = server
    ctx = browser.new_context(viewport={"width": 1280, "height": 1300}, accept_downloads=True)
    pg = ctx.new_page()
    external = []
    pg.route("**/*", lambda r: (external.append(r.request.url), r.abort())
             if not r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
             else r.continue_())
    console = []
    pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    pg.goto(url)
    pg.wait_for_selector("text=基準日", timeout=120_000)
    pg.wait_for_selector("table.juki", timeout=120_000)
    pg.external = external
    pg.console = console
    pg.folder = folder
    yield pg
    ctx.close()


def _caption(pg) -> str:
    return pg.locator("p.juki-caption").inner_text()


def _changes(pg, action, expect: str, timings: dict, name: str) -> str:
    t0 = time.perf_counter()
    action()
    pg.wait_for_function("t => (document.querySelector('p.juki-caption') || {innerText: ''}).innerText.includes(t)", arg=expect,
                         timeout=60_000)
    timings[name] = time.perf_counter() - t0
    return _caption(pg)


def _select(pg, label: str, option: str):
    pg.locator(f".widget-dropdown:has(label:text-is('{label}')) select").select_option(label=option)


def test_the_explorer_app_follows_every_widget(page, server):
    pg = page
    timings = {}
    # no code cells, no kernel prompt
    assert "session.begin" not in pg.inner_text("body") and pg.locator(".cm-editor, .jp-InputPrompt:visible").count() == 0
    assert "全域" in _caption(pg) and str(AS_OF) in _caption(pg)

    _changes(pg, lambda: _select(pg, "町域", "松戸"), "地域 松戸", timings, "町域")
    # 全域 again stays selected (an explicit option, not a blank)
    _changes(pg, lambda: _select(pg, "町域", "全域"), "地域 全域", timings, "町域（全域に戻す）")
    assert pg.locator(".widget-dropdown:has(label:text-is('町域')) select").input_value() != ""
    _changes(pg, lambda: _select(pg, "国籍・地域", "日本人住民"), "国籍・地域 日本人住民", timings, "国籍・地域")
    other = [o for o in pg.locator(".widget-dropdown:has(label:text-is('基準日')) option").all_inner_texts()
             if o != str(AS_OF)][0]
    _changes(pg, lambda: _select(pg, "基準日", other), f"基準日 {other}", timings, "基準日")
    _changes(pg, lambda: pg.get_by_role("button", name="女", exact=True).click(), "性別 女", timings, "性別")
    header = pg.locator("table.juki thead").inner_text()
    assert "女" in header and "男" not in header

    handle = pg.locator(".noUi-handle-lower").first
    handle.focus()
    handle.press("ArrowRight")
    caption = _changes(pg, lambda: handle.press("ArrowRight"), "年齢 10歳", timings, "年齢")
    assert "年齢 10歳以上" in caption          # fixed 5-year bands only
    rows = pg.locator("table.juki tbody th").all_inner_texts()
    assert rows[0] == "10～14歳", rows[:3]


    # the download carries the shown table as CSV with a BOM and the caption
    with pg.expect_download() as d:
        pg.get_by_text("CSVをダウンロード").click()
    data = Path(d.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode()) and "地域 全域".encode() in data and "10～14歳".encode() in data
    assert "セルキー法".encode() in data and "人口_全域_" in d.value.suggested_filename

    shot = pg.folder / "explorer.png"
    pg.screenshot(path=str(shot), full_page=True)
    if os.environ.get("JUKI_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["JUKI_SCREENSHOTS"]) / "explorer.png")
    assert pg.external == [], f"the page tried to load from the internet: {pg.external[:3]}"
    # one JupyterLab on the page: the widgets' extension accepts Voilà's front-end packages
    versions = [m for m in pg.console if "satisfy" in m or "Unsatisfied version" in m]
    assert not versions, versions[:3]
    print("explorer update times (s): " + json.dumps({k: round(v, 2) for k, v in timings.items()}, ensure_ascii=False))


def test_every_explorer_query_is_logged_without_numbers(page):
    from juki.log import oplog
    entries = [e for e in oplog.entries() if e["action"] == "table"]
    assert len(entries) >= 6
    # the widget test's last table (a kernel Voilà preheats logs its own default table too,
    # at a time of its own, so the page's is found by what it asked, not by being last)
    last = [e for e in entries if e["params"]["sex"] == "女" and e["params"]["ages"] == [10, 100]]
    assert last and last[-1]["params"]["area"] == "全域" and last[-1]["operator"] == "tester"
    text = json.dumps(entries, ensure_ascii=False)
    assert "perturbed" in text and not re.search(r'"(n|value|count)"\s*:', text)


def test_the_server_listens_on_loopback_and_needs_its_token(server):
    import http.client
    url, port, _ = server

    def status(path: str) -> tuple[int, str]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Location") or ""
    code, where = status("/")
    assert code in (302, 401, 403) and ("login" in where or code != 302), (code, where)
    assert status(url.split(str(port), 1)[1])[0] == 200
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout if shutil.which("ss") else ""
    for line in out.splitlines():
        if f":{port} " in line:
            assert "127.0.0.1:" in line, line


def _tree(pid: int) -> list[int]:
    """The pids of a process and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo += [int(k) for k in kids]
    return out


def _kernels_and_rss(root_pid: int) -> tuple[int, int]:
    n = rss = 0
    for p in _tree(root_pid):
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
            rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        n += b"ipykernel" in cmd
    return n, rss


#: Page views of the test below (about two minutes here: every view starts a kernel).
VIEWS = int(os.environ.get("JUKI_EXPLORER_VIEWS", "50"))


def test_fifty_page_views_leave_one_kernel(server, browser):
    """Open and close the explorer many times: each closed page ends its kernel (the page's
    shutdown is accepted), so the kernel count and the memory come back to what one view leaves.
    (The module's own page stays open, and Voilà keeps one kernel preheated for the next view.)"""
    url, port, folder = server
    root = server_pid(port)
    loads = []
    ctx = browser.new_context()

    def view():
        t0 = time.perf_counter()
        pg = ctx.new_page()
        pg.goto(url)
        pg.wait_for_selector("table.juki", timeout=120_000)
        loads.append(time.perf_counter() - t0)
        pg.close(run_before_unload=True)

    def settled(most: int):
        """Wait until no more than ``most`` kernels run and the count has held for two seconds
        (closing pages end their kernels; the preheated one is started again)."""
        deadline, last, since = time.monotonic() + 120, None, time.monotonic()
        while time.monotonic() < deadline:
            n = _kernels_and_rss(root)[0]
            if n != last:
                last, since = n, time.monotonic()
            elif n <= most and time.monotonic() - since >= 2:
                break
            time.sleep(0.2)
        return _kernels_and_rss(root)

    base, _ = settled(99)                 # the module's page and the preheated kernel
    view()
    one, rss_one = settled(base)
    for _ in range(VIEWS - 1):
        view()
    fifty, rss_fifty = settled(one)
    ctx.close()
    loads.sort()
    print(f"\nexplorer page views: first load {loads[0]:.2f}-{loads[-1]:.2f} s (median {loads[len(loads) // 2]:.2f}); "
          f"kernels after 1 view {one}, after {VIEWS} {fifty}; memory {rss_one / 2**20:.0f} -> {rss_fifty / 2**20:.0f} MiB")
    assert fifty == one == base          # the module's page and the preheated kernel; none per closed view
    assert rss_fifty < rss_one * 1.25 + 50 * 2**20


def server_pid(port: int) -> int:
    """The Voilà server listening on ``port``."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"voila" in cmd and f"--port={port}".encode() in cmd:
                return int(d.name)
    raise AssertionError(f"no Voilà server on port {port}")
