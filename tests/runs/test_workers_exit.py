"""Worker processes end with their parent: after ``kill -9`` of ``oversight-lab run`` its pool workers (and
multiprocessing's helpers) are gone within seconds instead of finishing the queued jobs and lingering.
(The sweep's case, with a resume to identical numbers, is in tests/sweep/test_sweep.py.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

TINY = ["tiny.steps=40", "tiny.corpus_lines=300", "feedback.n_comparisons=48", "reward.steps=4",
        "bon.pool_size=8", "bon.n_tasks=4", "rl.steps=4", "rl.checkpoint_every=2", "dpo.steps=4",
        "eval.n_tasks=4", "seeds=3"]


def test_killed_run_leaves_no_worker(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "oversight_lab.cli", "run", "--quiet", "--workers", "2", "--out", "run"]
    for item in TINY:
        args += ["--set", item]
    proc = subprocess.Popen(args, cwd=tmp_path, env=os.environ.copy(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    try:
        deadline = time.monotonic() + 300
        # wait until the jobs run: both pool workers exist and a job has written its files
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            children = parent.children(recursive=True)
            if len(children) >= 2 and list((tmp_path / "run").glob("arms/*/seed-*/comparisons.jsonl")):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the run's jobs did not start within 300 s")
        children = parent.children(recursive=True)  # the pool workers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"still alive 10 s after the parent was killed: {[p.pid for p in alive]}"
        assert len(gone) == len(children) >= 2
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
