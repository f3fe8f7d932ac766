"""Serve a local model through ``transformers serve`` (an OpenAI-compatible server the lab did not write).

``served(path)`` starts ``transformers serve PATH --host 127.0.0.1 --port P --device cpu`` on a free loopback
port, waits for ``/health``, yields the base URL (``http://127.0.0.1:P/v1``) and stops the server on exit.
That server ignores ``logprobs``, ``top_logprobs`` and ``echo`` (transformers 5.24), so its clients read
verdicts and answers from generated text.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ServeError", "served"]


class ServeError(RuntimeError):
    """The server could not be started; the message carries the end of its log."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli() -> str:
    beside = Path(sys.executable).with_name("transformers")
    found = str(beside) if beside.exists() else shutil.which("transformers")
    if found is None:
        raise ServeError("the 'transformers' command is not installed (pip install 'transformers[serving]')")
    return found


@contextmanager
def served(path: str, startup_timeout: float = 180.0, threads: int = 1) -> Iterator[str]:
    """A running ``transformers serve`` of ``path`` for the duration of the block; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    cmd = [_cli(), "serve", path, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in finally); a pipe nobody reads would fill up
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def tail() -> str:
        log.seek(0)
        return log.read().decode("utf-8", "replace")[-2000:]

    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise ServeError(f"transformers serve {path} exited with {proc.returncode}: {tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServeError(
                    f"transformers serve {path}: no /health answer within {startup_timeout:.0f} s: {tail()}"
                )
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
