"""A bounded load generator for a study server on this machine (loopback only).

Simulated annotators, all concurrent, each asks for an item (``POST /api/next``) and labels it, until it has
``per_annotator`` acknowledged labels or the deadline passes; it never runs unbounded and refuses any target
that is not a loopback address. A label whose response was lost (the server was killed) is re-sent with the
same content after a restart: the server answers 200 for one it had stored, so nothing is duplicated.
Used by the load tests and ``benchmarks/bench_server.py``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlparse

__all__ = ["Annotator", "LoadResult", "check_loopback", "percentile", "run_load"]


def check_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{base_url}: load is only ever sent to a loopback address "
                     "(127.0.0.0/8, ::1, localhost)")


@dataclass
class Annotator:
    """One simulated person: their token, the label in flight, and what the server acknowledged."""

    token: str
    seed: int
    pending: tuple[int, dict[str, Any]] | None = None
    acked: list[tuple[int, int]] = field(default_factory=list)  # (assignment_id, label_id)
    done: bool = False


@dataclass
class LoadResult:
    label_latency_s: list[float]
    next_latency_s: list[float]
    wall_s: float
    errors: list[str]
    acked: int
    stopped_by: str
    retries: int = 0
    unreachable: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        return {"submissions": self.acked, "wall_s": self.wall_s, "retries": self.retries,
                "throughput_per_s": self.acked / self.wall_s if self.wall_s else 0.0,
                "label_p50_ms": 1000 * percentile(self.label_latency_s, 50),
                "label_p99_ms": 1000 * percentile(self.label_latency_s, 99),
                "next_p50_ms": 1000 * percentile(self.next_latency_s, 50),
                "next_p99_ms": 1000 * percentile(self.next_latency_s, 99)}


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    ys = sorted(xs)
    k = (len(ys) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ys) - 1)
    return ys[lo] + (ys[hi] - ys[lo]) * (k - lo)


def _payload(rng: random.Random) -> dict[str, Any]:
    strength = rng.choice([-3, -2, -1, 1, 2, 3])
    return {"strength": strength, "confidence": rng.choice([0.55, 0.65, 0.75, 0.85, 0.95])}


async def _post(client: Any, path: str, res: LoadResult, **kw: Any) -> Any:
    """POST, retrying a dropped connection (a keep-alive race) twice; both our POSTs are safe to repeat:
    ``/api/next`` returns the open assignment and a resent label is answered with the stored one."""
    import httpx

    for attempt in range(3):
        try:
            return await client.post(path, **kw)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            if attempt == 2:
                raise
            res.retries += 1
            await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


async def _one(client: Any, a: Annotator, per_annotator: int, deadline: float, res: LoadResult,
               stop: asyncio.Event) -> None:
    import httpx

    rng = random.Random(a.seed * 7919 + len(a.acked))
    headers = {"Authorization": f"Bearer {a.token}"}
    while len(a.acked) < per_annotator and not stop.is_set():
        if time.monotonic() > deadline:
            res.stopped_by = "deadline"
            return
        try:
            if a.pending is None:
                t0 = time.perf_counter()
                r = await _post(client, "/api/next", res, headers=headers)
                res.next_latency_s.append(time.perf_counter() - t0)
                body = r.json()
                if r.status_code != 200 or body.get("done"):
                    res.errors.append(f"next: HTTP {r.status_code} {body}")
                    a.done = True
                    return
                a.pending = (body["assignment_id"], _payload(rng))
            aid, payload = a.pending
            t0 = time.perf_counter()
            r = await _post(client, f"/api/assignments/{aid}/label", res, json=payload, headers=headers)
            res.label_latency_s.append(time.perf_counter() - t0)
            if r.status_code in (200, 201):
                a.acked.append((aid, r.json()["label_id"]))
                a.pending = None
                res.acked += 1
            else:
                res.errors.append(f"label {aid}: HTTP {r.status_code} {r.text[:200]}")
                return
        except httpx.TransportError as e:  # the server went away: stop this run, keep what is pending
            res.unreachable.append(type(e).__name__)
            res.stopped_by = "server unreachable"
            stop.set()
            return
    a.done = len(a.acked) >= per_annotator


async def _run(base_url: str, annotators: list[Annotator], per_annotator: int, timeout_s: float,
               ) -> LoadResult:
    import httpx

    res = LoadResult([], [], 0.0, [], 0, "completed")
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=len(annotators) + 4, max_keepalive_connections=len(annotators) + 4)
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
        await asyncio.gather(*(_one(client, a, per_annotator, t0 + timeout_s, res, stop) for a in annotators))
    res.wall_s = time.monotonic() - t0
    return res


def run_load(base_url: str, annotators: list[Annotator], per_annotator: int, timeout_s: float = 120.0,
             ) -> LoadResult:
    """Run every annotator concurrently until each has ``per_annotator`` acknowledged labels, the server
    becomes unreachable, or ``timeout_s`` passes. ``annotators`` keep their state for a second run."""
    check_loopback(base_url)
    if not 0 < timeout_s <= 600:
        raise ValueError(f"timeout_s must be in (0, 600], got {timeout_s}")
    # A thread of its own: the caller may already run an event loop (Playwright's sync API does).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _run(base_url, annotators, per_annotator, timeout_s)).result()


class ServerProcess:
    """``oversight-lab serve`` in a child process on a free loopback port (so it can be ``kill -9``-ed)."""

    def __init__(self, study: Path, db: Path | str, admin_token: str, sync: str = "full",
                 log: Path | None = None) -> None:
        self.study, self.db, self.admin_token, self.sync, self.log = study, db, admin_token, sync, log
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        import httpx

        env = {**os.environ, "OVERSIGHT_LAB_ADMIN_TOKEN": self.admin_token}
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oversight_lab.server.cli", "serve", str(self.study), "--db", str(self.db),
             "--port", str(self.port), "--sync", self.sync], env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} (log: {self.log})")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout_s} s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def invite_many(base_url: str, admin_token: str, n: int, role: str = "annotator") -> list[str]:
    """``n`` invite tokens, created through the admin API."""
    import httpx

    check_loopback(base_url)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30) as c:
        return [c.post("/api/admin/invites", json={"role": role, "name": f"load {i}"}).json()["token"]
                for i in range(n)]
