"""HTML pages: sign-in by invite link, the labelling view (annotators and experts), the admin dashboard.

Plain server-rendered HTML (Jinja2, autoescaped: model text containing ``<script>`` is shown as text) and one
small script for keyboard shortcuts, the countdown and the first-interaction ping; no inline script, which
the Content-Security-Policy forbids anyway. Every form works without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from oversight_lab.server import service as svc
from oversight_lab.server.app import (
    COOKIE,
    EXPORTS,
    HERE,
    Admin,
    AnnotatorOnly,
    ExpertOnly,
    Labeller,
    ctx_of,
    current,
)
from oversight_lab.server.dashboard import dashboard
from oversight_lab.server.db import Label, Participant

__all__ = ["error_page", "router", "templates"]

router = APIRouter()
templates = Jinja2Templates(directory=str(HERE / "templates"))


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


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                      status_code=status)


HOME = {"annotator": "/annotate", "expert": "/expert", "admin": "/admin"}


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    p = current(request)
    if p is not None:
        return RedirectResponse(HOME[p.role], status_code=303)
    return templates.TemplateResponse(request, "login.html", {"study": ctx_of(request).study.config.name})


@router.get("/join/{token}")
def join(token: str, request: Request) -> Response:
    ctx = ctx_of(request)
    with ctx.db.read() as s:
        p = svc.authenticate(s, token)
    if p is None:
        return error_page(request, 401, "this invite link is not valid; ask the study's admin for a new one")
    resp = RedirectResponse(HOME[p.role], status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    max_age=60 * 60 * 24 * 90)
    return resp


@router.get("/signin")
def signin(token: str, request: Request) -> Response:
    """The sign-in form's target: the same as opening the invite link."""
    return join(token.strip(), request)


@router.post("/logout")
def logout() -> Response:
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def _label_page(request: Request, p: Participant, error: str | None = None, status: int = 200) -> Response:
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.write() as s:
        a = svc.next_assignment(s, ctx.study, p, now, ctx.assistant)
        done = s.scalar(select(func.count()).select_from(Label).where(Label.participant_id == p.id,
                                                                      Label.revision == 0)) or 0
        if a is None:
            return templates.TemplateResponse(request, "done.html", {"p": p, "done": done})
        view = svc.served_view(s, ctx.study, a, now)
    scale = sorted(svc.STRENGTH_WORDS.items())
    return templates.TemplateResponse(
        request, "label.html",
        {"p": p, "v": view, "scale": scale, "done": done, "error": error,
         "instructions": ctx.study.config.instructions, "limits": ctx.study.config.limits},
        status_code=status)


@router.get("/annotate", response_class=HTMLResponse)
def annotate(request: Request, p: AnnotatorOnly) -> Response:
    return _label_page(request, p)


@router.get("/expert", response_class=HTMLResponse)
def expert(request: Request, p: ExpertOnly) -> Response:
    return _label_page(request, p)


@router.post("/label/{assignment_id}")
def label_form(assignment_id: int, request: Request, p: Labeller, strength: Annotated[int, Form()],
               confidence: Annotated[float, Form()] = 0.5, rationale: Annotated[str, Form()] = "",
               ) -> Response:
    ctx = ctx_of(request)
    if strength == 0:
        confidence = 0.5  # the form's slider is disabled for a tie
    try:
        body = svc.LabelIn(strength=strength, confidence=confidence, rationale=rationale or None)
    except ValueError as e:
        return _label_page(request, p, error=f"not stored: {e}", status=422)
    try:
        with ctx.db.write() as s:
            svc.submit_label(s, ctx.study, p, assignment_id, body, ctx.clock(), via="web")
    except svc.ServiceError as e:
        return _label_page(request, p, error=f"not stored: {e.message}", status=e.status)
    return RedirectResponse(HOME[p.role], status_code=303)


@router.post("/chat/{assignment_id}")
def chat_form(assignment_id: int, request: Request, p: AnnotatorOnly, message: Annotated[str, Form()],
              ) -> Response:
    ctx = ctx_of(request)
    try:
        with ctx.db.write() as s:
            svc.chat(s, ctx.study, p, assignment_id, message, ctx.clock(), ctx.assistant)
    except svc.ServiceError as e:
        return _label_page(request, p, error=f"chat: {e.message}", status=e.status)
    return RedirectResponse(HOME[p.role], status_code=303)


def _admin_page(request: Request, new_invite: dict[str, str] | None = None) -> Response:
    ctx = ctx_of(request)
    with ctx.db.read() as s:
        stats = dashboard(s, ctx.study, ctx.clock())
        people = list(s.scalars(select(Participant).order_by(Participant.seq)))
    return templates.TemplateResponse(
        request, "admin.html",
        {"d": stats, "people": people, "new_invite": new_invite, "exports": list(EXPORTS),
         "study_text": ctx.study.text})


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, p: Admin) -> Response:
    return _admin_page(request)


@router.post("/admin/invite")
def admin_invite(request: Request, p: Admin, role: Annotated[str, Form()], name: Annotated[str, Form()] = "",
                 ) -> Response:
    ctx = ctx_of(request)
    with ctx.db.write() as s:
        new, token = svc.create_invite(s, role, name, ctx.clock(), invited_by=p.id)
        info = {"id": new.id, "role": new.role, "url": str(request.base_url).rstrip("/") + f"/join/{token}"}
    return _admin_page(request, new_invite=info)
