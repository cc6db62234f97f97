"""Writing files so that nothing is ever half-written, and the crash tests' kill points.

Every file the workbench writes goes through :func:`atomic_write_bytes` (or its text/JSON
forms): the bytes go to a hidden temporary file beside the target, are fsynced, and the file
is renamed over the target, so a reader sees the old file or the new one, never a part.
Files are created private (0600) unless a mode is given.  The store itself is rewritten by
:func:`juki.store.rewrite`, which uses the same pieces.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> p = atomic_write_json(d / "x.json", {"a": 1})
>>> p.read_text(encoding="utf-8"), oct(p.stat().st_mode & 0o777)
('{\\n "a": 1\\n}\\n', '0o600')
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from .errors import JukiError

#: Files the workbench creates: readable and writable by their owner only (PIA: personal data).
FILE_MODE = 0o600
DIR_MODE = 0o700


def fsync_file(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path) -> str:
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_dir(path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove(*paths) -> None:
    """Remove files that may not exist."""
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            Path(p).unlink()


def temp_beside(path, tag: str = "tmp") -> Path:
    """A hidden temporary name in the target's folder (same file system, so rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


@contextlib.contextmanager
def replacing(path, mode: int = FILE_MODE):
    """Yield a temporary path; on success fsync it and rename it over ``path``, else remove it."""
    path = Path(path)
    tmp = temp_beside(path)
    remove(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, mode)
            fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        remove(tmp)
        raise


@contextlib.contextmanager
def creating(path, mode: int = FILE_MODE):
    """Like :func:`replacing`, but ``path`` must not exist: the finished file is hard-linked into
    place, which fails if anything -- a file, a symlink, a store, a log -- is there already."""
    path = Path(path)
    tmp = temp_beside(path)
    remove(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, mode)
            fsync_file(tmp)
        try:
            os.link(tmp, path, follow_symlinks=False)
        except FileExistsError:
            raise JukiError(f"{path} exists already: outputs are created new, never written over") from None
        remove(tmp)
        fsync_dir(path.parent)
    except BaseException:
        remove(tmp)
        raise


def atomic_write_bytes(path, data: bytes, mode: int = FILE_MODE) -> Path:
    path = Path(path)
    with replacing(path, mode) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return path


def atomic_write_text(path, text: str, encoding: str = "utf-8", mode: int = FILE_MODE) -> Path:
    return atomic_write_bytes(path, text.encode(encoding), mode)


def atomic_write_json(path, obj, mode: int = FILE_MODE) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n", mode=mode)


def move_dir(src, dst) -> Path:
    """Rename a finished folder into place (same file system: atomic), made durable."""
    src, dst = Path(src), Path(dst)
    os.replace(src, dst)
    fsync_dir(dst.parent)
    return dst


def claim_dir(new, final) -> Path:
    """Put the finished folder ``new``'s files into ``final``, which must not exist: the name is
    claimed with ``mkdir`` (fails if anything is there), then each finished file is renamed in.
    Raises FileExistsError (``new`` removed) when ``final`` exists."""
    import shutil
    new, final = Path(new), Path(final)
    try:
        os.mkdir(final, 0o700)
    except FileExistsError:
        shutil.rmtree(new, ignore_errors=True)
        raise
    for f in sorted(new.iterdir()):
        os.replace(f, final / f.name)
    new.rmdir()
    fsync_dir(final)
    return final


def swap_dir(new, final) -> Path:
    """Put the finished folder ``new`` at ``final``; an old ``final`` is moved aside first and
    removed only once ``new`` is in place (a reader sees the old folder or the new one)."""
    import shutil
    new, final = Path(new), Path(final)
    old = None
    if final.exists():
        old = temp_beside(final, "old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(new, final)
    fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def private_dir(path) -> Path:
    """Create a folder (and parents) private to its owner."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def killpoint(step: str) -> None:
    """Fault-injection hook for the crash tests: inert unless ``JUKI_TEST_PAUSE`` names this step,
    in which case the process says so in ``JUKI_TEST_PAUSE_FILE`` and waits to be killed."""
    if os.environ.get("JUKI_TEST_PAUSE") == step:
        Path(os.environ["JUKI_TEST_PAUSE_FILE"]).write_text(step)
        time.sleep(600)
