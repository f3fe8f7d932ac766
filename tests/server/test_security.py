"""Security: authentication, roles, no gold or others' labels for annotators, inert model text, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from oversight_lab.server.db import Label

from .conftest import ADMIN, BASE_STUDY, Api

OPAQUE = BASE_STUDY.replace("{name: unaided,", "{name: ctlarmzq,").replace(
    "{name: critique,", "{name: helparmxk,").replace("{name: chat,", "{name: talkarmvw,")

API_ROUTES = [
    ("GET", "/api/me"), ("POST", "/api/next"), ("GET", "/api/assignments/1"),
    ("POST", "/api/assignments/1/interaction"), ("POST", "/api/assignments/1/label"),
    ("POST", "/api/assignments/1/chat"), ("GET", "/api/admin/study"), ("POST", "/api/admin/invites"),
    ("POST", "/api/admin/items"), ("GET", "/api/admin/batches/study"), ("GET", "/api/admin/stats"),
    ("GET", "/api/admin/export/labels.csv"),
]
ADMIN_ROUTES = [r for r in API_ROUTES if r[1].startswith("/api/admin")]


def label_count(api: Api) -> int:
    with api.app.state.ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(Label)) or 0


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_unauthenticated_refused(api: Api, method: str, path: str) -> None:
    r = api.client.request(method, path, json={})
    assert r.status_code == 401 and "not signed in" in r.json()["error"]
    bad = api.client.request(method, path, json={}, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


@pytest.mark.parametrize("path", ["/annotate", "/expert", "/admin"])
def test_pages_need_sign_in(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 401 and "text/html" in r.headers["content-type"]


def test_wrong_roles_refused(api: Api) -> None:
    annotator, expert = api.invite(), api.invite("expert")
    for method, path in ADMIN_ROUTES:
        for tok in (annotator, expert):
            r = api.as_(tok, method, path, json={})
            assert r.status_code == 403 and "needs the role admin" in r.json()["error"], path
    assert api.as_(ADMIN, "POST", "/api/next").status_code == 403
    assert api.as_(annotator, "GET", "/expert").status_code == 403
    assert api.as_(expert, "GET", "/annotate").status_code == 403
    assert api.as_(annotator, "GET", "/admin").status_code == 403
    aid = api.next(expert)["assignment_id"]
    assert api.as_(expert, "POST", f"/api/assignments/{aid}/chat", json={"message": "hi"}).status_code == 403


def test_join_sets_a_strict_cookie_and_bad_links_fail(api: Api) -> None:
    tok = api.invite(name="Jo")
    page = api.client.get(f"/join/{tok}", follow_redirects=False)  # a page with a button, no session yet
    assert page.status_code == 200 and "set-cookie" not in page.headers and "Continue as Jo" in page.text
    r = api.client.post("/join", data={"token": tok}, headers={"Origin": "http://testserver"},
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/annotate"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=43200" in cookie
    assert tok.lower() not in cookie  # the cookie holds a session token, not the invite token
    assert api.client.get("/join/forged", follow_redirects=False).status_code == 401
    r = api.client.get("/annotate", headers={"Authorization": f"Bearer {tok}"})
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # same-origin: no Referer (so no invite link) ever goes to another site, while the app's own form posts
    # keep a real Origin header (under no-referrer they would send "Origin: null", like a hostile page)
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in csp


def test_cross_site_post_refused(api: Api) -> None:
    tok = api.invite()
    r = api.client.post("/api/next", headers={"Authorization": f"Bearer {tok}", "Origin": "https://evil.example"})
    assert r.status_code == 403 and "cross-site" in r.json()["error"]


def test_gold_and_others_labels_absent_from_every_annotator_response(make_api: Any) -> None:
    api = make_api(OPAQUE)
    expert = api.invite("expert", "Dr Expert")
    a, b = api.invite("annotator", "Ann"), api.invite("annotator", "Bo")
    while not (nxt := api.next(expert))["done"]:
        api.label(expert, nxt["assignment_id"], -3, 0.99, rationale="GOLDSECRET rationale")
    for _ in range(4):  # b labels items that a will see too (overlap 2)
        api.label(b, api.next(b)["assignment_id"], 2, 0.7, rationale="OTHERSECRET rationale")
    responses = []

    def hit(method: str, path: str, **kw: Any) -> Any:
        r = api.as_(a, method, path, **kw)
        responses.append(r)
        return r

    hit("GET", "/api/me")
    hit("GET", f"/join/{a}", follow_redirects=False)
    for _ in range(12):
        nxt = hit("POST", "/api/next").json()
        if nxt["done"]:
            break
        aid = nxt["assignment_id"]
        hit("GET", f"/api/assignments/{aid}")
        hit("POST", f"/api/assignments/{aid}/interaction")
        if nxt["chat"]:
            hit("POST", f"/api/assignments/{aid}/chat", json={"message": "which is better?"})
        hit("GET", "/annotate")
        hit("POST", f"/api/assignments/{aid}/label", json={"strength": 1, "confidence": 0.6})
    hit("GET", "/annotate")  # the done page
    hit("GET", "/static/app.js")
    hit("GET", "/static/style.css")
    assert len(responses) > 40
    forbidden = ["gold", "expert", "GOLDSECRET", "OTHERSECRET", "ctlarmzq", "helparmxk", "talkarmvw",
                 "is_gold", "Dr Expert", "Bo (", "e0002", "a0004"]
    for r in responses:
        body = r.text + json.dumps(dict(r.headers))
        for word in forbidden:
            assert word.lower() not in body.lower(), (r.request.url, word)


def test_script_in_model_text_is_escaped(make_api: Any) -> None:
    evil = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"
    api = make_api(f"""
name: xss
items:
  source: inline
  inline:
    - {{task_id: t1, prompt: {json.dumps(evil)}, answer_a: {json.dumps(evil)}, answer_b: " plain"}}
gold_share: 0
""")
    tok = api.invite()
    html = api.as_(tok, "GET", "/annotate").text
    assert "<script>window" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_oversized_bodies_refused(api: Api) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    huge = {"strength": 1, "confidence": 0.8, "rationale": "x" * 70_000}
    r = api.as_(tok, "POST", f"/api/assignments/{aid}/label", json=huge)
    assert r.status_code == 413 and "limit is 65536" in r.json()["error"]

    def chunks() -> Any:  # no Content-Length: the limit still holds
        for _ in range(80):
            yield b"x" * 1000

    r = api.as_(tok, "POST", f"/api/assignments/{aid}/label", content=chunks(),
                headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    long = api.label(tok, aid, 1, rationale="y" * 2001)
    assert long.status_code == 422 and long.json()["where"] == "rationale"
    assert "limit is 2000" in long.json()["error"]
    assert label_count(api) == 0


def test_admin_body_limit(make_api: Any) -> None:
    api = make_api(BASE_STUDY + "limits: {admin_body_bytes: 2048}\n")
    item = {"task_id": "t", "prompt": "p" * 3000, "answer_a": "a", "answer_b": "b"}
    r = api.admin("POST", "/api/admin/items", json={"items": [item]})
    assert r.status_code == 413 and "limit is 2048" in r.json()["error"]


@pytest.mark.parametrize(("body", "needle"), [
    ('{"strength": 1, "confidence": ', "body is not valid JSON"),
    ('{"strength": 9, "confidence": 0.8}', "strength must be at most 3"),
    ('{"strength": 1, "confidence": 0.3}', "confidence must be at least 0.5"),
    ('{"strength": "left", "confidence": 0.8}', "strength must be a whole number"),
    ('{"strength": true, "confidence": 0.8}', "strength must be a whole number (not true/false"),
    ('{"strength": 1.0, "confidence": 0.8}', "strength must be a whole number"),
    ('{"strength": 1, "confidence": NaN}', "confidence must be a finite number"),
    ('{"strength": 1, "confidence": true}', "confidence must be a number (not true/false"),
    ('{"strength": 1, "confidence": 0.8, "edit": 1}', "edit must be true or false"),
    ('{"strength": 1, "confidence": 0.8, "gold": 1}', "gold is not a field this request accepts"),
    ('{"confidence": 0.8}', "strength is required"),
    ('[1, 2]', "body must be an object"),
])
def test_malformed_submissions_refused_with_clear_errors(api: Api, body: str, needle: str) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    r = api.as_(tok, "POST", f"/api/assignments/{aid}/label", content=body,
                headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"].startswith("invalid request") and needle in r.json()["error"]
    assert "pydantic" not in r.text and "http" not in r.text  # no internals, no documentation links
    tie = api.as_(tok, "POST", f"/api/assignments/{aid}/label", json={"strength": 0, "confidence": 0.9})
    assert tie.status_code == 422 and tie.json()["where"] == "confidence"
    assert label_count(api) == 0


def test_bad_form_submission_keeps_the_page(api: Api) -> None:
    tok = api.invite()
    html = api.as_(tok, "GET", "/annotate").text
    aid = html.split('data-assignment="')[1].split('"')[0]
    r = api.as_(tok, "POST", f"/label/{aid}", data={"strength": "7", "confidence": "0.8"})
    assert r.status_code == 422 and "not stored" in r.text and f'data-assignment="{aid}"' in r.text
    assert label_count(api) == 0
