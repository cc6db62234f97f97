"""Packaging: every data file the code reads ships in the wheel, and a normal (non-editable)
install works -- the retention tests pass against the installed package, not the checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build-src")
    # build from a copy of the sources so no build/ or egg-info lands in the checkout
    for name in ("juki", "pyproject.toml", "README.md"):
        src = ROOT / name
        (shutil.copytree(src, build / name, ignore=shutil.ignore_patterns("__pycache__")) if src.is_dir()
         else shutil.copy(src, build / name))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(build)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return next(out.glob("juki-*.whl"))


def _data_files() -> set[str]:
    r = subprocess.run(["git", "ls-files", "juki"], cwd=ROOT, capture_output=True, text=True)
    files = r.stdout.split() if r.returncode == 0 and r.stdout else \
        [str(p.relative_to(ROOT)) for p in (ROOT / "juki").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return {f for f in files if not f.endswith(".py")}


def test_the_wheel_holds_every_data_file_under_juki(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_data_files() - names)
    assert not missing, f"not in the wheel (add them to package-data): {missing}"


def test_a_non_editable_install_passes_the_retention_tests(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    work = tmp_path / "work"
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    deps = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUKI_")}
    env.update(PYTHONPATH=os.pathsep.join([str(target), deps]), GX_ANALYTICS_ENABLED="false",
               JUKI_HOME=str(work))
    # -S: no site processing, so the checkout's editable install (a .pth hook) is not seen
    probe = subprocess.run([sys.executable, "-S", "-c", "import juki, sys; print(juki.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert probe.stdout.strip().startswith(str(target)), probe.stdout + probe.stderr
    r = subprocess.run([sys.executable, "-S", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(work),
                        "-o", "addopts=", "tests/retention/test_retention.py",
                        # the installed copy's own data files: the policy, the layouts, a purge over a generated city
                        "-k", "policy_is_validated or exactly_the_rows_due or follow_up"],
                       cwd=work, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
