"""CSRF and login CSRF in a real browser: a hostile page served from ANOTHER loopback port of the same host.

SameSite cookies do not separate ports, so Chromium sends the victim's session cookie with each of these
requests; what stops them is the server (auth.py): the CSRF token, and Origin checks that also refuse the
``Origin: null`` a page gets by asking for no referrer. Each attack lands on the app's 403 page (or, for
fetch, an opaque refusal) and no row is written; the victim stays signed in as themself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oversight_lab.server.db import Label, Participant, WebSession

from .conftest import ADMIN, BASE_STUDY, free_port
from .test_browser import invite

pytestmark = pytest.mark.browser


class Attacker:
    """A site on another loopback port serving the hostile pages it is given."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = pages.get(self.path, "not here").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Attacker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    with Attacker() as a:
        yield a


def autosubmit(action: str, fields: dict[str, str], no_referrer: bool = True) -> str:
    """A page that posts a form to ``action`` as soon as it loads (as a hostile site would)."""
    meta = '<meta name="referrer" content="no-referrer">' if no_referrer else ""
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (f"<!doctype html><html><head>{meta}</head><body><form id=f method=post action='{action}'>{inputs}"
            "</form><script>document.getElementById('f').submit()</script></body></html>")


def count(app: Any, model: Any, *where: Any) -> int:
    with app.state.ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/join/{token}")
    page.click("#join-submit")
    page.wait_for_load_state()


def me(page: Any, url: str) -> str:
    page.goto(f"{url}/api/me")
    return page.inner_text("body")


def test_hostile_page_on_another_port_cannot_act_for_the_admin(live: Any, page: Any, attacker: Attacker,
                                                               artifacts: Path) -> None:
    url, _, app = live(BASE_STUDY)
    assert url.split(":")[-1] != str(attacker.port) and "127.0.0.1" in attacker.url
    sign_in(page, url, ADMIN)
    assert page.url.endswith("/admin")
    admins = count(app, Participant, Participant.role == "admin")
    attacker.pages["/invite-null"] = autosubmit(f"{url}/admin/invite", {"role": "admin", "name": "evil"})
    attacker.pages["/invite-origin"] = autosubmit(f"{url}/admin/invite", {"role": "admin", "name": "evil"},
                                                  no_referrer=False)
    attacker.pages["/invite-guess"] = autosubmit(f"{url}/admin/invite",
                                                 {"role": "admin", "name": "evil", "csrf_token": "0" * 64})
    for name in ("/invite-null", "/invite-origin", "/invite-guess"):
        page.goto(attacker.url + name)
        page.wait_for_url(f"{url}/admin/invite")  # the browser did post, with the admin's cookie
        assert "Error 403" in page.inner_text("h1"), name
        assert "cross-site request" in page.inner_text("#error-message"), name
    page.screenshot(path=str(artifacts / "csrf-refused.png"), full_page=True)
    # fetch() with credentials and a "simple" content type (no CORS preflight): refused as well
    attacker.pages["/fetch"] = (
        "<!doctype html><script>fetch('" + url + "/api/admin/invites', {method: 'POST', "
        "credentials: 'include', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, "
        "body: JSON.stringify({role: 'admin'})})"
        ".then(function () { document.title = 'sent'; });</script>")
    page.goto(attacker.url + "/fetch")
    page.wait_for_function("document.title === 'sent'")
    assert count(app, Participant, Participant.role == "admin") == admins
    assert '"role":"admin"' in me(page, url)  # still signed in as the admin: nothing was swapped


def test_hostile_page_cannot_label_for_an_annotator_or_swap_sessions(live: Any, page: Any,
                                                                       attacker: Attacker) -> None:
    url, _, app = live(BASE_STUDY)
    victim, theirs = invite(url, "annotator", "Victim"), invite(url, "annotator", "Attacker")
    sign_in(page, url, victim)
    aid = page.get_attribute("#label-page", "data-assignment")
    victim_id = me(page, url)
    assert '"name":"Victim"' in victim_id
    attacker.pages["/label"] = autosubmit(f"{url}/label/{aid}", {"strength": "3", "confidence": "1"})
    page.goto(attacker.url + "/label")
    page.wait_for_url(f"{url}/label/{aid}")
    assert "Error 403" in page.inner_text("h1")
    assert count(app, Label) == 0

    sessions = count(app, WebSession)
    # login CSRF: a form that signs the browser in as the attacker's participant, with and without a referrer
    attacker.pages["/login"] = autosubmit(f"{url}/join", {"token": theirs})
    attacker.pages["/login-origin"] = autosubmit(f"{url}/join", {"token": theirs}, no_referrer=False)
    for name in ("/login", "/login-origin"):
        page.goto(attacker.url + name)
        page.wait_for_url(f"{url}/join")
        assert "Error 403" in page.inner_text("h1") and "cross-site" in page.inner_text("#error-message")
    # a cross-site navigation to the attacker's join link only shows a page with a button
    attacker.pages["/link"] = f"<!doctype html><script>location = '{url}/join/{theirs}';</script>"
    page.goto(attacker.url + "/link")
    page.wait_for_url(f"{url}/join/{theirs}")
    assert "This browser is signed in as Victim" in page.inner_text("#join-replaces")
    assert count(app, WebSession) == sessions
    assert me(page, url) == victim_id  # the victim is still themself and labels as themself
    page.goto(f"{url}/annotate")
    page.click("label.choice:has(input[value='-1'])")
    page.click("#submit")
    page.wait_for_load_state()
    with app.state.ctx.db.read() as s:
        labels = list(s.scalars(select(Label)))
    assert [(lab.participant_id, lab.assignment_id) for lab in labels] == [("a0002", int(aid))]


def test_sign_out_revokes_the_cookie_in_the_browser(live: Any, page: Any) -> None:
    url, _, app = live(BASE_STUDY)
    sign_in(page, url, invite(url, "annotator", "Leaving"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "olab_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("#sign-out")
    page.wait_for_url(f"{url}/")
    page.context.add_cookies([cookie])  # the old cookie, put back (as a thief would)
    page.goto(f"{url}/api/me")
    assert "not signed in" in page.inner_text("body")
