"""The cache of things that are expensive to build and determined by their inputs (pretrained models, trained
reward models, judges, best-of-n pools), and its one write pattern.

Every entry lives at a path named by a hash of what decides its contents. :func:`load_or_build` returns the
entry if it exists and builds it otherwise: under a file lock, so that a concurrent process wanting the same
entry waits for the first instead of building it again; into a temporary sibling, renamed into place when
complete, so that a killed process never leaves half an entry and an existing entry is always whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

__all__ = ["cache_dir", "code_hash", "load_or_build", "locked"]

T = TypeVar("T")


def cache_dir() -> Path:
    """``$OVERSIGHT_LAB_CACHE``, else ``$XDG_CACHE_HOME/oversight-lab``, else ``~/.cache/oversight-lab``."""
    if os.environ.get("OVERSIGHT_LAB_CACHE"):
        return Path(os.environ["OVERSIGHT_LAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "oversight-lab"


def code_hash(path: Path) -> str:
    """A hash of a source file's syntax tree without docstrings, for cache keys: reformatting, comments and
    documentation leave it unchanged; any change to what the code does (a statement, a constant, a default)
    changes it."""
    import ast

    tree = ast.parse(Path(path).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:12]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s entry (the file ``.<name>.lock`` beside it) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # no POSIX locks: two processes may build one entry, identically
            pass
        yield


def load_or_build(
    path: Path, load: Callable[[Path], T], build: Callable[[], T], save: Callable[[T, Path], None]
) -> tuple[T, bool]:
    """``(load(path), True)`` if the entry exists; else ``(build(), False)``, saved by ``save(value, tmp)``
    into a temporary sibling that is renamed to ``path`` (a file or a directory) once written."""
    with locked(path):
        if path.exists():
            return load(path), True
        value = build()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        _remove(tmp)  # left by a failed save of this process id
        try:
            save(value, tmp)
            os.replace(tmp, path)
        except OSError:
            _remove(tmp)
            if not path.exists():  # the save failed: no entry, and the error
                raise
            # else written meanwhile by a process that held no lock (no fcntl): theirs is identical
        except BaseException:
            _remove(tmp)
            raise
        return value, False


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
