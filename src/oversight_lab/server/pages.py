"""HTML pages: sign-in by invite link, the labelling view (annotators and experts), the admin dashboard.

Plain server-rendered HTML (Jinja2, autoescaped: model text containing ``<script>`` is shown as text, and
bidirectional controls are shown as visible marks) and one small script for keyboard shortcuts, the countdown
and the first-interaction ping; no inline script, which the Content-Security-Policy forbids anyway. Every form
works without JavaScript and carries the session's CSRF token (``auth.py``).

Signing in is two steps: ``GET /join/<token>`` shows who the link is for and a button; only the button's
same-origin ``POST /join`` starts a session, so a link opened from another site cannot replace anyone's
session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select

from oversight_lab.server import service as svc
from oversight_lab.server.auth import (
    COOKIE,
    CSRF_FIELD,
    Admin,
    AnnotatorOnly,
    ExpertOnly,
    Labeller,
    authenticate_bearer,
    authenticate_session,
    csrf_of,
    ctx_of,
    identify,
    open_session,
    revoke_participant,
    revoke_session,
)
from oversight_lab.server.dashboard import dashboard
from oversight_lab.server.db import Participant, Revocation
from oversight_lab.server.display import assistant_sees
from oversight_lab.server.export import EXPORTS
from oversight_lab.server.validation import (
    PARTICIPANT_ID,
    InviteIn,
    TextError,
    check_text,
    form_float,
    form_int,
    friendly,
    neutralise_bidi,
)

__all__ = ["error_page", "router", "templates"]

HERE = Path(__file__).parent
router = APIRouter()


def _page_context(request: Request) -> dict[str, Any]:
    return {"csrf": csrf_of(request), "csrf_field": CSRF_FIELD}


templates = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[_page_context])


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


templates.env.filters["fmt"] = _fmt
templates.env.filters["pct"] = _pct
templates.env.filters["shown"] = neutralise_bidi


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                      status_code=status)


HOME = {"annotator": "/annotate", "expert": "/expert", "admin": "/admin"}
# The 7-point scale: (value, key, arrows shown, short word shown, full words for screen readers and titles).
SCALE = [(v, k, mark, short, svc.STRENGTH_WORDS[v]) for k, (v, mark, short) in enumerate(
    [(-3, "◀◀◀", "much"), (-2, "◀◀", "better"), (-1, "◀", "slightly"), (0, "=", "tie"), (1, "▶", "slightly"),
     (2, "▶▶", "better"), (3, "▶▶▶", "much")], start=1)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    who = identify(request)
    if who is not None:
        return RedirectResponse(HOME[who.participant.role], status_code=303)
    return templates.TemplateResponse(request, "login.html", {"study": ctx_of(request).study.config.name})


@router.get("/join/{token}", response_class=HTMLResponse)
def join_page(token: str, request: Request) -> Response:
    """Who this link is for, and a button; nothing is signed in until the button is pressed."""
    ctx = ctx_of(request)
    with ctx.db.read() as s:
        p = authenticate_bearer(s, token[:200])
    if p is None:
        return error_page(request, 401, "this invite link is not valid (or was revoked); ask the study's "
                          "admin for a new one")
    who = identify(request)
    current = who.participant if who is not None and who.participant.id != p.id else None
    return templates.TemplateResponse(request, "join.html", {"invitee": p, "token": token, "current": current,
                                                            "study": ctx.study.config.name})


@router.post("/join")
def join(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
    """Start a session for an invite token (the join page's button; the guard checked it is same-origin)."""
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.write() as s:
        p = authenticate_bearer(s, token.strip())
        if p is None:
            return error_page(request, 401, "this invite token is not valid (or was revoked); ask the "
                              "study's admin for a new one")
        earlier = authenticate_session(s, request.cookies.get(COOKIE), now)
        if earlier is not None:  # one browser, one session: the one it replaces ends here
            revoke_session(s, earlier[1].id, now, "replaced by a new sign-in", earlier[0].id)
        _, session_token = open_session(s, p, now, ctx.study.config.limits.session_hours)
        role = p.role
    ctx.forget()
    resp = RedirectResponse(HOME[role], status_code=303)
    resp.set_cookie(COOKIE, session_token, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/",
                    max_age=int(ctx.study.config.limits.session_hours * 3600))
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    """Sign out: the session is revoked on the server, not only forgotten by the browser."""
    ctx = ctx_of(request)
    who = identify(request)
    if who is not None and who.session_id is not None:
        with ctx.db.write() as s:
            revoke_session(s, who.session_id, ctx.clock(), "signed out", who.participant.id)
        ctx.forget()  # after the commit: no request can cache the session again before it is revoked
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


def _label_page(request: Request, p: Participant, error: str | None = None, status: int = 200) -> Response:
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.write() as s:
        a = svc.next_assignment(s, ctx.study, p, now, ctx.assistant)
        done, total = svc.progress(s, ctx.study, p, now)
        if a is None:
            return templates.TemplateResponse(request, "done.html", {"p": p, "done": done})
        view = svc.served_view(s, ctx.study, a, now, renderer=ctx.renderer)
    cfg = ctx.study.config
    assisted = a.kind == "annotate" and cfg.condition(a.condition).assistance != "none"
    readable = view.readable
    sees = assistant_sees(cfg.assistant, bool(readable and readable.handbook)) if assisted else None
    return templates.TemplateResponse(
        request, "label.html",
        {"p": p, "v": view, "r": readable, "scale": SCALE, "done": done, "total": total, "error": error,
         "instructions": cfg.instructions, "limits": cfg.limits, "assistant_sees": sees},
        status_code=status)


@router.get("/annotate", response_class=HTMLResponse)
def annotate(request: Request, p: AnnotatorOnly) -> Response:
    return _label_page(request, p)


@router.get("/expert", response_class=HTMLResponse)
def expert(request: Request, p: ExpertOnly) -> Response:
    return _label_page(request, p)


def _form_errors(e: ValidationError) -> str:
    return "; ".join(f"{d['where']} {d['message']}" for d in friendly(list(e.errors())))


@router.post("/label/{assignment_id}")
def label_form(assignment_id: int, request: Request, p: Labeller,
               strength: Annotated[str, Form(max_length=40)] = "",
               confidence: Annotated[str, Form(max_length=40)] = "0.5",
               rationale: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    ctx = ctx_of(request)
    try:
        if not strength.strip():
            raise ValueError("choose one of the seven options first")
        value = form_int(strength, -3, 3)
        conf = 0.5 if value == 0 else form_float(confidence, 0.5, 1.0)  # the slider is disabled for a tie
    except ValueError as e:
        where = "the scale" if "seven" in str(e) or "whole" in str(e) else "the probability"
        return _label_page(request, p, error=f"not stored: {where} {e}", status=422)
    try:
        body = svc.LabelIn(strength=value, confidence=conf, rationale=rationale or None)
    except ValidationError as e:
        return _label_page(request, p, error=f"not stored: {_form_errors(e)}", status=422)
    try:
        with ctx.db.write() as s:
            svc.submit_label(s, ctx.study, p, assignment_id, body, ctx.clock(), via="web")
    except svc.ServiceError as e:
        return _label_page(request, p, error=f"not stored: {e.message}", status=e.status)
    return RedirectResponse(HOME[p.role], status_code=303)


@router.post("/chat/{assignment_id}")
def chat_form(assignment_id: int, request: Request, p: AnnotatorOnly,
              message: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    ctx = ctx_of(request)
    try:
        check_text(message, multiline=False)
        with ctx.db.write() as s:
            svc.chat(s, ctx.study, p, assignment_id, message, ctx.clock(), ctx.assistant)
    except TextError as e:
        return _label_page(request, p, error=f"chat: your message {e}", status=422)
    except svc.ServiceError as e:
        return _label_page(request, p, error=f"chat: {e.message}", status=e.status)
    return RedirectResponse(HOME[p.role], status_code=303)


def _admin_page(request: Request, p: Participant, new_invite: dict[str, str] | None = None,
                error: str | None = None, status: int = 200) -> Response:
    ctx = ctx_of(request)
    with ctx.db.read() as s:
        stats = dashboard(s, ctx.study, ctx.clock())
        people = list(s.scalars(select(Participant).order_by(Participant.seq)))
        revoked = set(s.scalars(select(Revocation.participant_id).where(
            Revocation.participant_id.is_not(None))))
    return templates.TemplateResponse(
        request, "admin.html",
        {"p": p, "d": stats, "people": people, "revoked": revoked, "new_invite": new_invite,
         "exports": list(EXPORTS), "study_text": ctx.study.text, "error": error}, status_code=status)


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, p: Admin) -> Response:
    return _admin_page(request, p)


@router.post("/admin/invite")
def admin_invite(request: Request, p: Admin, role: Annotated[str, Form(max_length=40)] = "",
                 name: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    ctx = ctx_of(request)
    try:
        body = InviteIn(role=role, name=name)  # type: ignore[arg-type]
    except ValidationError as e:
        return _admin_page(request, p, error=f"invite not created: {_form_errors(e)}", status=422)
    with ctx.db.write() as s:
        new, token = svc.create_invite(s, body.role, body.name, ctx.clock(), invited_by=p.id)
        info = {"id": new.id, "role": new.role, "url": str(request.base_url).rstrip("/") + f"/join/{token}"}
    return _admin_page(request, p, new_invite=info)


@router.post("/admin/revoke/{participant_id}")
def admin_revoke(participant_id: str, request: Request, p: Admin) -> Response:
    ctx = ctx_of(request)
    if not PARTICIPANT_ID.match(participant_id):
        return _admin_page(request, p, error=f"no participant {participant_id[:40]!r}", status=404)
    try:
        with ctx.db.write() as s:
            revoke_participant(s, participant_id, ctx.clock(), "revoked on the dashboard", p.id)
    except svc.ServiceError as e:
        return _admin_page(request, p, error=e.message, status=e.status)
    ctx.forget()
    return RedirectResponse("/admin#people", status_code=303)
