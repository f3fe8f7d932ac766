"""Sessions and CSRF: sign-in only by a same-origin POST, CSRF tokens on every cookie-authenticated write,
Origin null and other origins refused, sign-out and admin revocation on the server, expiry."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from oversight_lab.server.db import Assignment, Label, Participant, Revocation, WebSession

from .conftest import ADMIN, Api

SELF = "http://testserver"


def count(api: Api, model: Any) -> int:
    with api.app.state.ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def served_id(browser: TestClient) -> int:
    html = browser.get("/annotate").text
    return int(html.split('data-assignment="')[1].split('"')[0])


def test_cookie_writes_need_the_csrf_token(api: Api) -> None:
    tok = api.invite()
    b = api.browser(tok)
    aid = served_id(b)
    before = (count(api, Label), count(api, Assignment), count(api, Participant))
    form = {"strength": "2", "confidence": "0.8"}
    refused = [
        b.post(f"/label/{aid}", data=form),  # no token
        b.post(f"/label/{aid}", data={**form, "csrf_token": "0" * 64}),  # a wrong one
        b.post(f"/label/{aid}", data={**form, "csrf_token": b.csrf}, headers={"Origin": "null"}),
        b.post(f"/label/{aid}", data={**form, "csrf_token": b.csrf}, headers={"Origin": "http://127.0.0.1:9"}),
        b.post(f"/label/{aid}", data={**form, "csrf_token": b.csrf}, headers={"Sec-Fetch-Site": "same-site"}),
        b.post("/api/next"),
        b.post(f"/api/assignments/{aid}/label", json={"strength": 1, "confidence": 0.7}),
        b.post(f"/api/assignments/{aid}/label", json={"strength": 1, "confidence": 0.7},
               headers={"X-CSRF-Token": b.csrf, "Origin": "null"}),
        b.post("/logout"),
    ]
    for r in refused:
        assert r.status_code == 403, (r.request.url, r.text)
    assert "CSRF" in refused[0].text and "text/html" in refused[0].headers["content-type"]
    assert "null" in refused[2].text and "Sec-Fetch-Site" in refused[4].text
    assert (count(api, Label), count(api, Assignment), count(api, Participant)) == before
    assert b.get("/api/me").status_code == 200  # the failed sign-out did nothing
    ok = b.post(f"/label/{aid}", data={**form, "csrf_token": b.csrf}, headers={"Origin": SELF},
                follow_redirects=False)
    assert ok.status_code == 303 and count(api, Label) == 1
    nxt = b.post("/api/next", headers={"X-CSRF-Token": b.csrf, "Origin": SELF})
    assert nxt.status_code == 200 and nxt.json()["assignment_id"] != aid
    # a program's bearer token needs no CSRF token: no browser sends that header by itself
    assert api.as_(tok, "POST", "/api/next").json()["assignment_id"] == nxt.json()["assignment_id"]


def test_admin_forms_need_the_csrf_token(api: Api) -> None:
    b = api.browser(ADMIN)
    n = count(api, Participant)
    assert b.post("/admin/invite", data={"role": "admin", "name": "evil"}).status_code == 403
    assert b.post("/admin/invite", data={"role": "admin", "csrf_token": b.csrf},
                  headers={"Origin": "null"}).status_code == 403
    assert count(api, Participant) == n
    r = b.post("/admin/invite", data={"role": "annotator", "name": "Ok", "csrf_token": b.csrf})
    assert r.status_code == 200 and "/join/" in r.text and count(api, Participant) == n + 1


def test_sign_in_needs_a_same_origin_post(api: Api) -> None:
    victim, attacker = api.invite(name="Victim"), api.invite(name="Attacker")
    b = api.browser(victim)
    me = b.get("/api/me").json()["participant_id"]
    sessions = count(api, WebSession)
    for headers in ({}, {"Origin": "null"}, {"Origin": "http://127.0.0.1:1"}, {"Origin": "http://evil.example"},
                    {"Origin": SELF, "Sec-Fetch-Site": "cross-site"}):
        r = b.post("/join", data={"token": attacker}, headers=headers, follow_redirects=False)
        assert r.status_code == 403, headers
    page = b.get(f"/join/{attacker}")  # a cross-site navigation to a join link only shows a button
    assert page.status_code == 200 and "This browser is signed in as Victim" in page.text
    assert b.get("/api/me").json()["participant_id"] == me
    assert count(api, WebSession) == sessions
    bad = b.post("/join", data={"token": "forged"}, headers={"Origin": SELF})
    assert bad.status_code == 401 and b.get("/api/me").json()["participant_id"] == me


def test_sign_out_revokes_the_session_on_the_server(api: Api) -> None:
    tok = api.invite()
    b = api.browser(tok)
    stolen = b.cookies.get("olab_session")
    r = b.post("/logout", data={"csrf_token": b.csrf}, follow_redirects=False)
    assert r.status_code == 303 and 'olab_session=""' in r.headers["set-cookie"]
    replay = TestClient(api.app, cookies={"olab_session": stolen})
    for method, path in (("GET", "/api/me"), ("POST", "/api/next"), ("GET", "/annotate")):
        assert replay.request(method, path, headers={"X-CSRF-Token": b.csrf}).status_code == 401, path
    replay.close()
    assert api.as_(tok, "GET", "/api/me").status_code == 200  # the invite token itself still works


def test_a_new_sign_in_ends_the_browsers_earlier_session(api: Api) -> None:
    a, c = api.invite(name="A"), api.invite(name="C")
    b = api.browser(a)
    old = b.cookies.get("olab_session")
    r = b.post("/join", data={"token": c}, headers={"Origin": SELF}, follow_redirects=False)
    assert r.status_code == 303 and b.get("/api/me").json()["name"] == "C"
    replay = TestClient(api.app, cookies={"olab_session": old})
    assert replay.get("/api/me").status_code == 401
    replay.close()


def test_sessions_expire(api: Api) -> None:
    b = api.browser(api.invite())
    assert b.get("/api/me").status_code == 200
    api.clock.advance(12 * 3600 - 5)
    assert b.get("/api/me").status_code == 200
    api.clock.advance(10)
    r = b.get("/api/me")
    assert r.status_code == 401 and "expired" in r.json()["error"]
    assert b.get("/annotate").status_code == 401


def test_admin_revokes_a_participant_everywhere(api: Api) -> None:
    tok = api.invite(name="Leaky")
    b = api.browser(tok)
    aid = served_id(b)
    pid = api.as_(tok, "GET", "/api/me").json()["participant_id"]
    r = api.admin("POST", f"/api/admin/participants/{pid}/revoke", json={"reason": "link posted in a chat"})
    assert r.status_code == 200 and r.json() == {"participant_id": pid, "revoked": True, "already": False}
    for method, path in (("GET", "/api/me"), ("POST", "/api/next"), ("GET", f"/api/assignments/{aid}"),
                         ("POST", f"/api/assignments/{aid}/label")):
        assert api.as_(tok, method, path, json={"strength": 1, "confidence": 0.7}).status_code == 401, path
        assert b.request(method, path, headers={"X-CSRF-Token": b.csrf},
                         json={"strength": 1, "confidence": 0.7}).status_code == 401, path
    assert b.get("/annotate").status_code == 401
    assert api.client.get(f"/join/{tok}").status_code == 401
    assert api.client.post("/join", data={"token": tok}, headers={"Origin": SELF}).status_code == 401
    assert count(api, Label) == 0
    again = api.admin("POST", f"/api/admin/participants/{pid}/revoke", json={})
    assert again.status_code == 200 and again.json()["already"] is True
    people = api.admin("GET", "/api/admin/participants").json()["participants"]
    listed = {q["participant_id"]: q for q in people}
    assert listed[pid]["revoked"] is True and listed[pid]["open_sessions"] == 0
    with api.app.state.ctx.db.read() as s:
        rev = s.scalar(select(Revocation).where(Revocation.participant_id == pid))
        assert rev is not None and rev.reason == "link posted in a chat" and rev.revoked_by == "a0001"


@pytest.mark.parametrize(("pid", "status"), [("a0001", 409), ("a9999", 404), ("x" * 300, 404),
                                              ("a0001%00", 404)])
def test_revocation_refusals(api: Api, pid: str, status: int) -> None:
    r = api.admin("POST", f"/api/admin/participants/{pid}/revoke", json={})
    assert r.status_code == status
    assert api.admin("GET", "/api/me").status_code == 200  # the admin is still in


def test_revoke_from_the_dashboard(api: Api) -> None:
    tok = api.invite(name="Gone")
    pid = api.as_(tok, "GET", "/api/me").json()["participant_id"]
    b = api.browser(ADMIN)
    assert b.post(f"/admin/revoke/{pid}").status_code == 403  # no CSRF token
    assert api.as_(tok, "GET", "/api/me").status_code == 200
    r = b.post(f"/admin/revoke/{pid}", data={"csrf_token": b.csrf})
    assert r.status_code == 200 and "revoked" in r.text
    assert api.as_(tok, "GET", "/api/me").status_code == 401


def test_two_session_cookies_are_refused(api: Api) -> None:
    b = api.browser(api.invite())
    raw = f"olab_session={b.cookies.get('olab_session')}; olab_session=planted"
    r = TestClient(api.app).post("/api/next", headers={"Cookie": raw, "X-CSRF-Token": b.csrf})
    assert r.status_code == 403 and "more than one session cookie" in r.json()["error"]


def test_a_revoked_admin_token_cannot_restart_the_server(make_api: Any) -> None:
    from oversight_lab.server.service import ServiceError

    api = make_api()
    other = api.invite("admin", "Second admin")
    r = api.as_(other, "POST", "/api/admin/participants/a0001/revoke", json={"reason": "token leaked"})
    assert r.status_code == 200 and api.admin("GET", "/api/me").status_code == 401
    with pytest.raises(ServiceError, match="was revoked"):
        make_api()  # the same database, started again with the revoked $OVERSIGHT_LAB_ADMIN_TOKEN
    assert api.as_(other, "GET", "/api/me").status_code == 200


def test_a_revocation_by_another_server_process_holds_within_two_seconds(api: Api) -> None:
    """Credentials are re-checked against the database at most every 2 s per token; this process's own
    revocations hold at once (the tests above), another process's (a row written straight into the shared
    database here) within those 2 s."""
    tok = api.invite()
    b = api.browser(tok)
    pid = api.as_(tok, "GET", "/api/me").json()["participant_id"]
    assert b.get("/api/me").status_code == 200
    with api.app.state.ctx.db.write() as s:
        s.add(Revocation(participant_id=pid, reason="by another process", at=api.clock()))
    assert api.as_(tok, "GET", "/api/me").status_code == 200  # verified less than 2 s ago
    api.clock.advance(2.5)
    assert api.as_(tok, "GET", "/api/me").status_code == 401
    assert b.get("/api/me").status_code == 401
