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
import random
import time
from dataclasses import dataclass, field
from typing import Any
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
    raise ValueError(f"{base_url}: load is only ever sent to a loopback address (127.0.0.0/8, ::1, localhost)")


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

    def summary(self) -> dict[str, float]:
        return {"submissions": self.acked, "wall_s": self.wall_s,
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
                r = await client.post("/api/next", headers=headers)
                res.next_latency_s.append(time.perf_counter() - t0)
                body = r.json()
                if r.status_code != 200 or body.get("done"):
                    res.errors.append(f"next: HTTP {r.status_code} {body}")
                    a.done = True
                    return
                a.pending = (body["assignment_id"], _payload(rng))
            aid, payload = a.pending
            t0 = time.perf_counter()
            r = await client.post(f"/api/assignments/{aid}/label", json=payload, headers=headers)
            res.label_latency_s.append(time.perf_counter() - t0)
            if r.status_code in (200, 201):
                a.acked.append((aid, r.json()["label_id"]))
                a.pending = None
                res.acked += 1
            else:
                res.errors.append(f"label {aid}: HTTP {r.status_code} {r.text[:200]}")
                return
        except httpx.TransportError as e:  # the server went away: stop this run, keep what is pending
            res.errors.append(f"transport: {type(e).__name__}")
            res.stopped_by = "server unreachable"
            stop.set()
            return
    a.done = len(a.acked) >= per_annotator


async def _run(base_url: str, annotators: list[Annotator], per_annotator: int, timeout_s: float) -> LoadResult:
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
    return asyncio.run(_run(base_url, annotators, per_annotator, timeout_s))
