"""Atomic file writes: a reader never sees a half-written output.

Each writer fills a temporary file (or folder) next to its target and renames it onto
the target only when the write has finished. An interrupted stage therefore leaves
either the previous output or none, never a truncated one. The temporary names start
with a dot and end in `.tmp`. A process killed with SIGKILL can leave one behind,
which the next successful write of the same target does not remove.
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

TEMPORARY_SUFFIX = ".tmp"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp and mkdtemp create private (0600, 0700) entries; outputs get the usual permissions instead.
_FILE_MODE = 0o666 & ~_current_umask()
_FOLDER_MODE = 0o777 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`, renamed onto `path` only on success.

    The temporary file lives in the same folder, so the final rename is atomic on
    POSIX file systems. Its content is flushed to disk before the rename. If the
    block raises (KeyboardInterrupt included), the temporary file is removed and
    `path` keeps its previous content (or stays absent).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        yield temporary
        os.chmod(temporary, _FILE_MODE)
        _flush_to_disk(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing that replaces `path` when the block succeeds."""
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as temporary:
        with open(temporary, mode, **open_kwargs) as stream:
            yield stream


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces the folder `path` as a whole on success.

    Use it for outputs made of several files that must come from the same run, such
    as the arrays of one encoded split. If the block raises, the temporary folder is
    removed and `path` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent))
    try:
        yield temporary
        os.chmod(temporary, _FOLDER_MODE)
        _replace_directory(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _replace_directory(source: Path, target: Path) -> None:
    # rename() cannot replace a non-empty folder, so the old one is moved aside first.
    # NOTE: between the two renames `target` is briefly absent; it is never partial.
    if not target.exists():
        os.replace(source, target)
        return
    previous = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous.", suffix=TEMPORARY_SUFFIX, dir=target.parent))
    os.replace(target, previous / target.name)
    os.replace(source, target)
    shutil.rmtree(previous, ignore_errors=True)


def _flush_to_disk(path: Path) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write `payload` as indented JSON with sorted keys, atomically; NaN and infinity raise ValueError."""
    with atomic_open(path) as stream:
        json.dump(payload, stream, indent=2, sort_keys=True, allow_nan=False)
        stream.write("\n")
