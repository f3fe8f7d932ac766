"""Fixtures for the study web app: studies, an app with a controllable clock, a live server, Chromium.

Browser tests (marker ``browser``) drive Debian's /usr/bin/chromium through pytest-playwright and are skipped,
with the reason, when it or Playwright is missing. Screenshots go to test-artifacts/server/.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Self

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

pytest.importorskip("fastapi", reason="the server extra is not installed")

from fastapi.testclient import TestClient

from oversight_lab.server.app import create_app
from oversight_lab.server.db import utcnow
from oversight_lab.server.study import Study, parse_study

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "server"
ADMIN = "admin-test-token"

BASE_STUDY = """
name: test-study
items: {source: world, n: 12, seed: 0}
conditions:
  - {name: unaided, assistance: none}
  - {name: critique, assistance: critique}
  - {name: chat, assistance: chat}
overlap: 2
gold_share: 0.5
time_limit_s: 60
assistant: {kind: world, known_hazards: 0.5}
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: end-to-end test in headless Chromium (Playwright)")
    config.addinivalue_line("markers", "load: bounded loopback load test of the study server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    else:
        try:
            import playwright  # noqa: F401
            import pytest_playwright  # noqa: F401
        except ImportError:
            reason = ("playwright / pytest-playwright are not installed "
                      "(pip install playwright pytest-playwright)")
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright's launch arguments: Debian's Chromium, never a downloaded browser."""
    return {"executable_path": CHROMIUM, "headless": True, "args": ["--no-sandbox", "--disable-gpu"]}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Clock:
    """The server's clock in tests: real time plus an offset that ``advance`` moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def study_from(text: str, tmp_path: Path, name: str = "study.yaml") -> Study:
    path = tmp_path / name
    path.write_text(text)
    return parse_study(text, str(path), tmp_path)


class Api:
    """A TestClient with the admin's token and helpers to invite people and act as them."""

    def __init__(self, client: TestClient, clock: Clock, study: Study) -> None:
        self.client, self.clock, self.study = client, clock, study
        self.app = client.app
        self.others: list[TestClient] = []

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.headers(ADMIN), **kw)

    def invite(self, role: str = "annotator", name: str = "") -> str:
        r = self.admin("POST", "/api/admin/invites", json={"role": role, "name": name})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def as_(self, token: str, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers(token), **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def browser(self, token: str) -> Any:
        """A second client that signs in like a browser: the join page's same-origin POST, then a cookie.
        Its ``csrf`` attribute holds the session's CSRF token (read from a page, as a browser would)."""
        client = TestClient(self.app, base_url="http://testserver")
        self.others.append(client)
        r = client.post("/join", data={"token": token}, headers={"Origin": "http://testserver"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
        page = client.get(r.headers["location"]).text
        client.csrf = page.split('name="csrf-token" content="')[1].split('"')[0]  # type: ignore[attr-defined]
        return client

    def next(self, token: str) -> dict[str, Any]:
        r = self.as_(token, "POST", "/api/next")
        assert r.status_code == 200, r.text
        return r.json()

    def label(self, token: str, aid: int, strength: int, confidence: float = 0.8, **kw: Any) -> Any:
        return self.as_(token, "POST", f"/api/assignments/{aid}/label",
                        json={"strength": strength, "confidence": confidence if strength else 0.5, **kw})


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Any]:
    clients: list[TestClient] = []
    made: list[Api] = []

    def make(text: str = BASE_STUDY, db: Path | None = None) -> Api:
        clock = Clock()
        study = study_from(text, tmp_path)
        app = create_app(study, f"sqlite:///{db or tmp_path / 'study.db'}", clock=clock, admin_token=ADMIN)
        client = TestClient(app)
        clients.append(client)
        made.append(Api(client, clock, study))
        return made[-1]

    yield make
    for c in clients:
        c.close()
    for api in made:
        for c in api.others:
            c.close()


@pytest.fixture
def api(make_api: Any) -> Api:
    return make_api()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Any]:
    """Start a study on a real loopback port (uvicorn in a thread); yields (url, study, app)."""
    servers: list[LiveServer] = []

    def start(text: str = BASE_STUDY) -> tuple[str, Study, Any]:
        study = study_from(text, tmp_path)
        app = create_app(study, f"sqlite:///{tmp_path / 'live.db'}", admin_token=ADMIN)
        srv = LiveServer(app).__enter__()
        servers.append(srv)
        return srv.url, study, app

    yield start
    for srv in servers:
        srv.__exit__()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("chromium") is not None
