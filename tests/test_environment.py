"""Setup stays honest: environment.yml mirrors pyproject, CI runs the README's test command."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def test_environment_yml_lists_the_same_dependencies():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = py["project"]["optional-dependencies"]
    deps = py["project"]["dependencies"] + extras["dev"] + extras["spark"]
    yml = (ROOT / "environment.yml").read_text(encoding="utf-8")
    pip_block = yml.split("- pip:", 1)[1]
    listed = [ln.strip()[2:].strip().strip('"') for ln in pip_block.splitlines() if ln.strip().startswith("- ")]
    assert sorted(map(_norm, listed)) == sorted(map(_norm, deps))
    m = re.search(r"requires-python\s*=\s*\">=(\d+\.\d+)", (ROOT / "pyproject.toml").read_text())
    assert f"python={m.group(1)}" in yml


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", readme, re.S)
    commands = [ln.strip() for b in blocks[:2] for ln in b.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(commands) == 2, commands
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
          if ln.strip() and not ln.startswith("#") and not ln.startswith("set ") and not ln.startswith("cd ")]
    assert ci == [commands[1]]


def test_top_level_layout():
    for name in ("notebooks", "juki", "data", "expectations", "tests", "environment.yml", "README.md", "pyproject.toml"):
        assert (ROOT / name).exists(), name
