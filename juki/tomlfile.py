"""Reading the workbench's TOML configuration files with one clear error per problem."""
from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import JukiError


def read(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JukiError(f"{what} {path} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise JukiError(f"{what} {path}: {e}") from None
