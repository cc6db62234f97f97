"""Reading an export in bounded memory: decode in chunks, split records, number lines.

The export is decoded (UTF-8 with or without BOM, or cp932) as a stream and split into CSV
records by quote parity; each well-formed record is written to a private UTF-8 stage file with
its first line number in front, for DuckDB's parallel CSV reader.  Records that cannot be
loaded faithfully are set aside here with their line and a reason: a NUL byte, a byte-order
mark in the middle of the file, a line break inside a field, a quote left open at the end of
the file.  Memory stays at one line, whatever the size of the file.
"""
from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import JukiError

ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
ALIASES = {"sjis": "cp932", "shift_jis": "cp932", "shift-jis": "cp932", "utf8": "utf-8", "ms932": "cp932"}
SNIFF = 1 << 20
RAW_LIMIT = 2000


@dataclass
class Staged:
    path: Path                   # the stage file (line number, then the record's fields)
    header: list[str]
    encoding: str
    sha256: str
    records: int = 0             # records written to the stage file
    broken: list = field(default_factory=list)   # (line, reason, raw) set aside

    @property
    def read(self) -> int:
        return self.records + len(self.broken)


def detect_encoding(path: Path, encoding: str | None) -> str:
    """The file's encoding: as given (checked at read time), else by its BOM and first megabyte."""
    if encoding:
        enc = ALIASES.get(encoding.lower(), encoding.lower())
        if enc not in ENCODINGS:
            raise JukiError(f"unsupported encoding {encoding!r}: use utf-8 or cp932")
        with open(path, "rb") as fh:
            head = fh.read(3)
        return "utf-8-sig" if enc == "utf-8" and head == codecs.BOM_UTF8 else enc
    with open(path, "rb") as fh:
        head = fh.read(SNIFF)
    if not head:
        raise JukiError("empty file: nothing to load")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("cp932")().decode(head, final=len(head) < SNIFF)
        return "cp932"
    except UnicodeDecodeError as e:
        raise JukiError(f"the file is neither UTF-8 nor cp932 (bad byte at {e.start})") from None


class _Hashing(io.RawIOBase):
    """A binary reader that hashes what passes through it (the load log records the SHA-256)."""

    def __init__(self, fh):
        self.fh, self.h = fh, hashlib.sha256()

    def readable(self):
        return True

    def readinto(self, b):
        n = self.fh.readinto(b)
        if n:
            self.h.update(memoryview(b)[:n])
        return n


def stage(path: Path, out: Path, encoding: str | None) -> Staged:
    """Decode ``path`` and write its well-formed records to ``out``; see the module doc."""
    enc = detect_encoding(path, encoding)
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise JukiError(f"cannot read {path}: {e.strerror}") from None
    hashing = _Hashing(raw)
    text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 20), encoding=enc, newline="", errors="strict")
    line_no = 0
    try:
        with raw, open(out, "w", encoding="utf-8", newline="") as fo:
            header_line = text.readline()
            if not header_line:
                raise JukiError("empty file: nothing to load")
            header = _split_header(header_line)
            st = Staged(out, header, enc, "")
            w = fo.write
            line_no, pending, start, quotes = 1, None, 0, 0
            for line in text:
                line_no += 1
                if pending is None:
                    q = line.count('"')
                    if q & 1:
                        pending, start, quotes = [line], line_no, q
                        continue
                    body = line.rstrip("\r\n")
                    if not body:
                        continue
                    why = _bad_chars(body)
                    if why:
                        st.broken.append((line_no, why, body[:RAW_LIMIT]))
                        continue
                    w(f"{line_no},{body}\n")
                    st.records += 1
                else:
                    pending.append(line)
                    quotes += line.count('"')
                    if not quotes & 1:
                        st.broken.append((start, "line break inside a field", "".join(pending).rstrip("\r\n")[:RAW_LIMIT]))
                        pending = None
            if pending is not None:
                st.broken.append((start, "a quoted field is never closed (truncated file?)",
                                  "".join(pending)[:RAW_LIMIT]))
        st.sha256 = hashing.h.hexdigest()
        return st
    except UnicodeDecodeError as e:
        other = "cp932" if enc.startswith("utf") else "utf-8"
        raise JukiError(f"the file is not valid {enc} (line {line_no + 1}, {e.reason}); try --encoding {other}") from None


def _bad_chars(body: str) -> str | None:
    if "\x00" in body:
        return "NUL byte in a field"
    if "\ufeff" in body:
        return "byte order mark in the middle of the file"
    if "\r" in body:
        return "line break inside a field"
    return None


def _split_header(line: str) -> list[str]:
    import csv
    try:
        cells = next(csv.reader([line.rstrip("\r\n")]))
    except (csv.Error, StopIteration) as e:
        raise JukiError(f"unreadable header: {e}") from None
    return [c.strip().lstrip("\ufeff") for c in cells]
