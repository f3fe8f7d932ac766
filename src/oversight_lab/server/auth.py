"""Who is asking, and may they: invite tokens, browser sessions, revocation, CSRF and the request guard.

Two credentials:

* an **invite token** (the link ``/join/<token>`` an admin hands out; only its SHA-256 is stored), sent by
  programs as ``Authorization: Bearer <token>`` (``HumanEvaluator``, the load generator). A browser never
  sends this header by itself, so bearer requests need no CSRF token.
* a **session** for browsers: ``GET /join/<token>`` only shows a page with a button; the button's same-origin
  POST makes a session, whose token (stored hashed) goes in an ``HttpOnly``, ``SameSite=Strict`` cookie. A
  session ends at ``limits.session_hours`` or when revoked: signing out revokes it, and an admin's revocation
  of a participant ends their invite token and every session at once. Revocations are rows of their own
  (storage stays append-only) and are checked on every request, so a revoked token gets 401 everywhere.

CSRF: SameSite cookies do not separate two ports of one host, so every state-changing request that a cookie
authenticates must carry the session's CSRF token (``csrf_token`` form field or ``X-CSRF-Token`` header; an
HMAC of the session token, so nothing else is stored) and may not come from another origin: an ``Origin``
other than the server's own, ``Origin: null`` (what a page gets by asking for no referrer) and
``Sec-Fetch-Site: same-site/cross-site`` are refused. The sign-in POST needs an ``Origin`` equal to the
server's own, so a page elsewhere cannot swap a visitor's session for its own participant (login CSRF).
``Guard`` enforces all of this before any route runs, along with the body size limits and security headers.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from starlette.requests import cookie_parser

from oversight_lab.server.assistants import Assistant
from oversight_lab.server.db import Database, Participant, Revocation, WebSession, utcnow
from oversight_lab.server.display import ItemRenderer
from oversight_lab.server.service import ROLES, ServiceError, hash_token
from oversight_lab.server.study import Study

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Admin",
    "AnnotatorOnly",
    "Anyone",
    "AppContext",
    "ExpertOnly",
    "Guard",
    "Identity",
    "Labeller",
    "authenticate_bearer",
    "authenticate_session",
    "csrf_for",
    "csrf_of",
    "ctx_of",
    "identify",
    "is_revoked",
    "open_session",
    "require",
    "revoke_participant",
    "revoke_session",
]

COOKIE = "olab_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JOIN_PATH = "/join"


VERIFIED_TTL_S = 2.0


@dataclass
class AppContext:
    study: Study
    db: Database
    assistant: Assistant | None
    clock: Callable[[], datetime] = utcnow
    initial_admin_token: str | None = None
    renderer: ItemRenderer | None = None  # items in plain English for people (display.py)
    # Credentials checked against the database in the last VERIFIED_TTL_S seconds: token hash -> (when,
    # identity, session expiry). A burst of requests costs one lookup. ``forget()`` empties it after every
    # revocation this process makes, so here a revocation holds at once; one made by another server process
    # on the same database holds within VERIFIED_TTL_S.
    verified: dict[str, tuple[datetime, Identity, datetime | None]] = field(default_factory=dict)
    generation: int = 0  # bumped by forget(): a lookup that raced a revocation is not cached

    def forget(self) -> None:
        self.generation += 1
        self.verified.clear()


def ctx_of(request: Request) -> AppContext:
    return request.app.state.ctx


# -- credentials ------------------------------------------------------------------------------------------

def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the session token (unguessable without the cookie)."""
    return hmac.new(session_token.encode(), b"oversight-lab csrf v1", hashlib.sha256).hexdigest()


def _not_revoked_participant() -> Any:
    return ~exists().where(Revocation.participant_id == Participant.id)


def authenticate_bearer(s: Session, token: str | None) -> Participant | None:
    """The participant of an invite token, unless revoked."""
    if not token:
        return None
    return s.scalar(select(Participant).where(Participant.token_sha256 == hash_token(token),
                                              _not_revoked_participant()))


def authenticate_session(s: Session, token: str | None, now: datetime,
                         ) -> tuple[Participant, WebSession] | None:
    """The participant and session of a session token, unless expired or revoked."""
    if not token:
        return None
    revoked = exists().where(or_(Revocation.session_id == WebSession.id,
                                 Revocation.participant_id == WebSession.participant_id))
    joined = select(Participant, WebSession).join(WebSession, WebSession.participant_id == Participant.id)
    row = s.execute(joined.where(WebSession.token_sha256 == hash_token(token), WebSession.expires_at > now,
                           ~revoked)).first()
    return None if row is None else (row[0], row[1])


def open_session(s: Session, p: Participant, now: datetime, hours: float) -> tuple[WebSession, str]:
    """A new browser session for ``p``; returns it and its token (only the hash is stored)."""
    import secrets

    token = secrets.token_urlsafe(32)
    ws = WebSession(participant_id=p.id, token_sha256=hash_token(token), created_at=now,
                    expires_at=now + timedelta(hours=hours))
    s.add(ws)
    s.flush()
    return ws, token


def revoke_session(s: Session, session_id: int, now: datetime, reason: str, by: str | None) -> None:
    s.add(Revocation(session_id=session_id, reason=reason[:200], revoked_by=by, at=now))
    s.flush()


def is_revoked(s: Session, participant_id: str) -> bool:
    return bool(s.scalar(select(exists().where(Revocation.participant_id == participant_id))))


def revoke_participant(s: Session, participant_id: str, now: datetime, reason: str, by: str) -> bool:
    """Revoke a participant's invite token and every session; False if they were revoked already."""
    if s.get(Participant, participant_id) is None:
        raise ServiceError(404, f"participant {participant_id} not found", "participant_id")
    if participant_id == by:
        raise ServiceError(409, "you cannot revoke yourself; ask another admin", "participant_id")
    if is_revoked(s, participant_id):
        return False
    s.add(Revocation(participant_id=participant_id, reason=reason[:200], revoked_by=by, at=now))
    s.flush()
    return True


@dataclass(frozen=True)
class Identity:
    participant: Participant
    session_id: int | None  # None: an invite token sent as a bearer header
    csrf: str | None


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def identify(request: Request) -> Identity | None:
    """The caller, from a bearer invite token or else the session cookie; None if neither is valid."""
    ctx = ctx_of(request)
    bearer = _bearer(request)
    cookie = None if bearer is not None else request.cookies.get(COOKIE)
    token = bearer if bearer is not None else cookie
    if not token:
        return None
    key = ("b:" if bearer is not None else "s:") + hash_token(token)
    now = ctx.clock()
    hit = ctx.verified.get(key)
    fresh = hit is not None and timedelta(0) <= now - hit[0] < timedelta(seconds=VERIFIED_TTL_S)
    if hit is not None and fresh and (hit[2] is None or hit[2] > now):
        return hit[1]
    generation = ctx.generation
    with ctx.db.read() as s:
        if bearer is not None:
            p = authenticate_bearer(s, bearer)
            if p is None:
                return None
            s.expunge(p)
            who, expires = Identity(p, None, None), None
        else:
            found = authenticate_session(s, cookie, now)
            if found is None or cookie is None:
                return None
            p, ws = found
            s.expunge(p)
            who, expires = Identity(p, ws.id, csrf_for(cookie)), ws.expires_at
    if len(ctx.verified) > 100_000:
        ctx.verified.clear()
    if ctx.generation == generation:
        ctx.verified[key] = (now, who, expires)
    return who


def csrf_of(request: Request) -> str:
    """The CSRF token for forms on a page answering ``request`` ('' when no session cookie is sent)."""
    cookie = request.cookies.get(COOKIE)
    return csrf_for(cookie) if cookie else ""


def require(*roles: str) -> Callable[[Request], Participant]:
    def dep(request: Request) -> Participant:
        who = identify(request)
        if who is None:
            raise ServiceError(401, "not signed in, or the session has expired or was revoked: open your "
                               "invite link, or send 'Authorization: Bearer <token>'")
        p = who.participant
        if p.role not in roles:
            raise ServiceError(403, f"this needs the role {' or '.join(roles)}; you are {p.role}")
        request.state.identity = who
        return p

    return dep


Anyone = Annotated[Participant, Depends(require(*ROLES))]
Labeller = Annotated[Participant, Depends(require("annotator", "expert"))]
AnnotatorOnly = Annotated[Participant, Depends(require("annotator"))]
ExpertOnly = Annotated[Participant, Depends(require("expert"))]
Admin = Annotated[Participant, Depends(require("admin"))]


# -- the guard in front of every request -----------------------------------------------------------------

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" even on the app's own form
# posts, which would make them indistinguishable from a hostile page's. Cross-origin requests still get no
# Referer, so invite links never leak.
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"), (b"cache-control", b"no-store"),
                    (b"x-frame-options", b"DENY")]


def _csrf_sent(headers: dict[bytes, bytes], body: bytes) -> str | None:
    sent = headers.get(CSRF_HEADER.encode())
    if sent is not None:
        return sent.decode(errors="replace")
    ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if ctype == b"application/x-www-form-urlencoded":
        values = parse_qs(body.decode(errors="replace"), max_num_fields=1000).get(CSRF_FIELD)
        return values[0] if values else None
    return None


def check_request(method: str, path: str, headers: dict[bytes, bytes], raw_cookie: str,
                  body: bytes) -> str | None:
    """Why a request must be refused as cross-site (403), or None. See the module docstring."""
    if method in SAFE_METHODS:
        return None
    origin = headers.get(b"origin", b"").decode(errors="replace")
    host = headers.get(b"host", b"").decode(errors="replace")
    same = origin not in ("", "null") and origin.split("://", 1)[-1] == host
    fetch_site = headers.get(b"sec-fetch-site", b"").decode(errors="replace")
    if origin and not same:
        return f"cross-site request from origin {origin!r} refused"
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
    if path == JOIN_PATH and not same:
        return "sign-in must come from this site's own page (no Origin header was sent)"
    bearer = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
    if bearer or path == JOIN_PATH:
        return None
    if raw_cookie.count(COOKIE + "=") > 1:
        return "more than one session cookie was sent; sign in again"
    cookie = cookie_parser(raw_cookie).get(COOKIE)
    if not cookie:
        return None  # nothing authenticates it: the route answers 401
    sent = _csrf_sent(headers, body)
    if sent is None or not hmac.compare_digest(sent.encode(), csrf_for(cookie).encode()):
        return "missing or wrong CSRF token: reload the page and try again"
    return None


class Guard:
    """Pure ASGI middleware in front of every request (cheaper than Starlette's ``BaseHTTPMiddleware``).

    Refuses request bodies over ``limit`` bytes (413) before any parsing (paths under ``/api/admin/``, item
    pushes from ``HumanEvaluator``, get ``admin_limit``), then cross-site and CSRF-less requests
    (``check_request``, 403). Adds the security headers (CSP, nosniff, referrer policy, no caching, no
    framing) to every response.
    """

    def __init__(self, app: Any, limit: int, admin_limit: int) -> None:
        self.app, self.default, self.admin_limit = app, limit, admin_limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.admin_limit if path.startswith("/api/admin/") else self.default
        headers: dict[bytes, bytes] = {}
        cookies: list[str] = []
        for k, v in scope.get("headers") or []:
            if k == b"cookie":
                cookies.append(v.decode("latin-1"))
            headers[k] = v
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, declared.decode(errors="replace"), limit)
            return
        chunks, total, more = [], 0, True
        while more:  # read (a bounded amount) ahead, so chunked bodies are limited too
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            total += len(msg.get("body", b""))
            if total > limit:
                await self._refuse(send, f"more than {total}", limit)
                return
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        body = b"".join(chunks)
        why = check_request(scope.get("method", "GET"), path, headers, "; ".join(cookies), body)
        if why is not None:
            if path.startswith("/api"):
                await self._json(send, 403, {"error": why, "where": "origin"})
            else:
                await self._html(send, 403, why)
            return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def secure_send(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), *SECURITY_HEADERS]}
            await send(msg)

        await self.app(scope, replay, secure_send)

    async def _refuse(self, send: Callable, size: str, limit: int) -> None:
        await self._json(send, 413, {"error": f"request body too large ({size} bytes; the limit is {limit})",
                                     "where": "body"}, close=True)

    @staticmethod
    async def _json(send: Callable, status: int, payload: dict[str, Any], close: bool = False) -> None:
        headers = [(b"content-type", b"application/json"), *SECURITY_HEADERS]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    @staticmethod
    async def _html(send: Callable, status: int, message: str) -> None:
        page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Error {status}</title>"
                f"<h1>Error {status}</h1><p id=error-message>{html.escape(message)}</p>"
                "<p><a href=/>Back</a></p>")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": page.encode()})
