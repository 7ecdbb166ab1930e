"""Reading a user-supplied text file with one clear message for every way it can fail."""
from __future__ import annotations

from pathlib import Path

from core.errors import InputFileError

MAX_BYTES = 20 * 1024 * 1024  # segments, catalogs and ground truths are far smaller


def read_text(path: Path, what: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """The file's UTF-8 text; InputFileError saying what to fix when it cannot be read."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"{path} is a folder; pass the path of the {what} itself.")
    if not path.exists():
        raise InputFileError(f"{what.capitalize()} {path} not found; check the path.")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(f"{path} is {size / 1e6:.0f} MB; a {what} is at most {max_bytes / 1e6:.0f} MB.")
        data = path.read_bytes()
    except PermissionError:
        raise InputFileError(f"{path} cannot be read (permission denied); make it readable.") from None
    except OSError as exc:
        raise InputFileError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(f"{path} is not UTF-8 text (byte {data[exc.start]:#04x} on line {line}); "
                             "save it as UTF-8.") from None
