"""sha256 records of the files of a bundle or checkpoint folder, kept in the JSON beside them
(`config.json` of a bundle, `state.json` of a checkpoint, `best.json` beside `best.safetensors`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tasks.common.integrity import FileDigest


def digest_bytes(data: bytes) -> FileDigest:
    """Size and sha256 of bytes about to be written."""
    return FileDigest(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def file_problem(path: Path, recorded: dict[str, Any] | FileDigest | None) -> str | None:
    """None when `path` has the recorded size and sha256; else the cause, naming the file
    (`.../model.safetensors: size 10 != 20 recorded`, `...: missing`, `...: no checksum recorded`)."""
    if recorded is None:
        return f"{path}: no checksum recorded (written by an older corpusmill)"
    try:
        record = recorded if isinstance(recorded, FileDigest) else FileDigest.model_validate(recorded)
    except ValueError:
        return f"{path}: its checksum record is unreadable"
    if not path.is_file():
        return f"{path}: missing"
    size = path.stat().st_size
    if size != record.bytes:
        return f"{path}: size {size} != {record.bytes} recorded"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != record.sha256:
        return f"{path}: sha256 {digest.hexdigest()[:12]}... != {record.sha256[:12]}... recorded (content changed)"
    return None


def folder_problems(folder: Path, recorded: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """Problems of the files `names` of `folder` against `recorded` (name -> {bytes, sha256})."""
    return [p for name in names if (p := file_problem(Path(folder) / name, recorded.get(name))) is not None]
