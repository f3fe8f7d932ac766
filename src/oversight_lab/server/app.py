"""The FastAPI application: the JSON API, the pages (``pages.py``), errors, and the app's start.

Who sees what: annotators see an item's prompt and its two answers in a stored random order, the assistance
their condition gives, and nothing else: not whether the item is gold, not the condition's name, not anyone
else's labels. Experts label the gold items in their own view. Admins see the dashboard and the exports.

A request is authenticated by an ``Authorization: Bearer <invite token>`` header or a session cookie
(``auth.py``: sessions, revocation, CSRF). Wrong, expired or revoked credentials get 401, wrong roles 403,
another person's assignment 404, and an id the database cannot hold 404 as well. Bodies over the study's
``limits.body_bytes`` get 413 before they are parsed; malformed ones 422 naming the field in plain words
(``validation.py``). Every acknowledged write is committed (and on SQLite fsynced) before the response is
sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, func, select
from sqlalchemy.exc import DataError

from oversight_lab.server import pages
from oversight_lab.server import service as svc
from oversight_lab.server.assistants import Assistant, make_assistant
from oversight_lab.server.auth import (
    Admin,
    AnnotatorOnly,
    Anyone,
    AppContext,
    Guard,
    Labeller,
    ctx_of,
    is_revoked,
    revoke_participant,
)
from oversight_lab.server.dashboard import dashboard
from oversight_lab.server.db import (
    Database,
    Item,
    Participant,
    Revocation,
    StudyRow,
    WebSession,
    migrate,
    utcnow,
)
from oversight_lab.server.display import ItemRenderer
from oversight_lab.server.export import EXPORTS, comparisons, long_rows, write_long
from oversight_lab.server.study import Study, StudyItem, load_items
from oversight_lab.server.validation import (
    PARTICIPANT_ID,
    ChatIn,
    InviteIn,
    RevokeIn,
    content_disposition,
    friendly,
)

__all__ = ["create_app"]

HERE = Path(__file__).parent
BATCH = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[StudyItem] = Field(min_length=1, max_length=10_000)
    batch: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


api = APIRouter(prefix="/api")


@api.get("/me")
def me(request: Request, p: Anyone) -> dict[str, Any]:
    return {"participant_id": p.id, "role": p.role, "name": p.name}


@api.post("/next")
def next_item(request: Request, p: Labeller) -> dict[str, Any]:
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.write() as s:
        a = svc.next_assignment(s, ctx.study, p, now, ctx.assistant)
        if a is None:
            return {"done": True}
        view = svc.served_view(s, ctx.study, a, now, labelled=False, renderer=ctx.renderer)
        return {"done": False, **view.public()}


@api.get("/assignments/{assignment_id}")
def get_assignment(assignment_id: int, request: Request,
                   p: Labeller) -> dict[str, Any]:
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.read() as s:
        a = svc.own_assignment(s, p, assignment_id)
        return svc.served_view(s, ctx.study, a, now, renderer=ctx.renderer).public()


@api.post("/assignments/{assignment_id}/interaction")
def interaction(assignment_id: int, request: Request,
                p: Labeller) -> dict[str, Any]:
    ctx = ctx_of(request)
    with ctx.db.write() as s:
        at = svc.record_interaction(s, p, assignment_id, ctx.clock())
    return {"first_interaction_at": at.isoformat() + "Z"}


@api.post("/assignments/{assignment_id}/label")
def label(assignment_id: int, body: svc.LabelIn, request: Request,
          p: Labeller) -> JSONResponse:
    ctx = ctx_of(request)
    with ctx.db.write() as s:
        lab, created = svc.submit_label(s, ctx.study, p, assignment_id, body, ctx.clock(), via="api")
        out = {"label_id": lab.id, "assignment_id": assignment_id, "revision": lab.revision,
               "created": created}
    return JSONResponse(out, status_code=201 if created else 200)


@api.post("/assignments/{assignment_id}/chat")
def chat(assignment_id: int, body: ChatIn, request: Request,
         p: AnnotatorOnly) -> dict[str, Any]:
    ctx = ctx_of(request)
    with ctx.db.write() as s:
        reply = svc.chat(s, ctx.study, p, assignment_id, body.message, ctx.clock(), ctx.assistant)
    return {"reply": reply}


@api.get("/admin/study")
def study_info(request: Request, p: Admin) -> dict[str, Any]:
    cfg = ctx_of(request).study
    return {"name": cfg.config.name, "sha256": cfg.sha256, "overlap": cfg.config.overlap,
            "conditions": [c.model_dump() for c in cfg.config.conditions],
            "time_limit_s": cfg.config.time_limit_s}


@api.post("/admin/invites", status_code=201)
def invite(body: InviteIn, request: Request, p: Admin) -> dict[str, Any]:
    ctx = ctx_of(request)
    with ctx.db.write() as s:
        new, token = svc.create_invite(s, body.role, body.name, ctx.clock(), invited_by=p.id)
        out = {"participant_id": new.id, "role": new.role, "name": new.name, "token": token}
    return {**out, "join_url": str(request.base_url).rstrip("/") + f"/join/{token}"}


@api.post("/admin/items", status_code=201)
def push_items(body: ItemsIn, request: Request, p: Admin) -> dict[str, Any]:
    ctx = ctx_of(request)
    with ctx.db.write() as s:
        if body.batch and s.scalar(select(Item.id).where(Item.batch == body.batch).limit(1)) is not None:
            raise svc.ServiceError(409, f"batch {body.batch!r} already exists; items are never replaced",
                                   "batch")
        batch, rows = svc.add_items(s, ctx.study, body.items, ctx.clock(), body.batch)
        return {"batch": batch, "item_ids": [r.id for r in rows]}


@api.get("/admin/participants")
def participants(request: Request, p: Admin) -> dict[str, Any]:
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.read() as s:
        revoked = set(s.scalars(select(Revocation.participant_id).where(
            Revocation.participant_id.is_not(None))))
        live = exists().where(Revocation.session_id == WebSession.id)
        sessions = dict(s.execute(select(WebSession.participant_id, func.count()).where(
            WebSession.expires_at > now, ~live).group_by(WebSession.participant_id)).all())
        people = list(s.scalars(select(Participant).order_by(Participant.seq)))
        return {"participants": [{"participant_id": q.id, "role": q.role, "name": q.name,
                                  "revoked": q.id in revoked, "open_sessions": 0 if q.id in revoked else
                                  sessions.get(q.id, 0)} for q in people]}


@api.post("/admin/participants/{participant_id}/revoke")
def revoke(participant_id: str, body: RevokeIn, request: Request, p: Admin) -> dict[str, Any]:
    """End a participant's invite token and every session of theirs (a leaked link, someone who left)."""
    ctx = ctx_of(request)
    if not PARTICIPANT_ID.match(participant_id):
        raise svc.ServiceError(404, f"participant {participant_id[:40]!r} not found", "participant_id")
    with ctx.db.write() as s:
        new = revoke_participant(s, participant_id, ctx.clock(), body.reason, p.id)
    ctx.forget()
    return {"participant_id": participant_id, "revoked": True, "already": not new}


@api.get("/admin/batches/{batch}")
def batch(batch: str, request: Request, p: Admin) -> dict[str, Any]:
    ctx = ctx_of(request)
    if not BATCH.match(batch):
        raise svc.ServiceError(404, f"batch {batch[:64]!r} not found", "batch")
    with ctx.db.read() as s:
        return svc.batch_status(s, batch)


@api.get("/admin/stats")
def stats(request: Request, p: Admin) -> dict[str, Any]:
    ctx = ctx_of(request)
    with ctx.db.read() as s:
        return dashboard(s, ctx.study, ctx.clock())


@api.get("/admin/export/{name}")
def export(name: str, request: Request, p: Admin) -> Response:
    import tempfile

    ctx = ctx_of(request)
    if name not in EXPORTS:
        raise svc.ServiceError(404, f"no export {name!r}; choose one of {', '.join(EXPORTS)}", "name")
    if name == "study.yaml":
        return Response(ctx.study.text, media_type=EXPORTS[name], headers={
            "Content-Disposition": content_disposition(f"{ctx.study.config.name}-{name}")})
    from oversight_lab.feedback import to_trl, write_comparisons

    with ctx.db.read() as s, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if name.startswith("labels."):
            write_long(long_rows(s, ctx.study), path, ctx.study)
        elif name == "comparisons.jsonl":
            write_comparisons(path, comparisons(s, ctx.study))
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in to_trl(comparisons(s, ctx.study),
                                                                           margin=True)))
        data = path.read_bytes()
    headers = {"Content-Disposition": content_disposition(f"{ctx.study.config.name}-{name}"),
               "X-Study-Sha256": ctx.study.sha256}
    return Response(data, media_type=EXPORTS[name], headers=headers)


def _init(ctx: AppContext, run_migrations: bool, admin_token: str | None) -> None:
    """Migrate, freeze the study (and load its items) on first start, and make sure an admin exists."""
    if run_migrations:
        migrate(ctx.db.engine)
    ctx.db.check_schema()
    with ctx.db.write() as s:
        now = ctx.clock()
        fresh = s.get(StudyRow, 1) is None
        svc.freeze_study(s, ctx.study, now)
        if fresh:
            svc.add_items(s, ctx.study, load_items(ctx.study), now, batch="study")
        has_admin = s.scalar(select(Participant.id).where(Participant.role == "admin").limit(1))
        known = svc.find_by_token(s, admin_token) if admin_token else None
        if known is not None and is_revoked(s, known.id):
            raise svc.ServiceError(409, "the admin token given in $OVERSIGHT_LAB_ADMIN_TOKEN was revoked; "
                                   "start with another one")
        if admin_token and known is None:
            svc.create_invite(s, "admin", "admin", now, token=admin_token)
        elif has_admin is None:
            _, ctx.initial_admin_token = svc.create_invite(s, "admin", "admin", now)


def create_app(study: Study, db_url: str, *, run_migrations: bool = True, assistant: Assistant | None = None,
               clock: Callable[[], datetime] = utcnow, admin_token: str | None = None,
               sync: str = "full") -> FastAPI:
    """Build the app for ``study`` on the database at ``db_url`` (created and migrated when needed)."""
    needs = {c.assistance for c in study.config.conditions} & {"critique", "chat"}
    if assistant is None and needs:
        assistant = make_assistant(study.config.assistant)
    ctx = AppContext(study=study, db=Database(db_url, sync=sync), assistant=assistant, clock=clock,
                     renderer=ItemRenderer(study))
    _init(ctx, run_migrations, admin_token)
    app = FastAPI(title=f"oversight-lab study: {study.config.name}", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.ctx = ctx

    @app.exception_handler(svc.ServiceError)
    async def _service_error(request: Request, exc: svc.ServiceError) -> Response:
        if not request.url.path.startswith("/api"):
            return pages.error_page(request, exc.status, exc.message)
        return JSONResponse({"error": exc.message, "where": exc.where}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = friendly(list(exc.errors()))
        msg = "; ".join(f"{d['where']} {d['message']}" for d in details)
        if not request.url.path.startswith("/api"):
            return pages.error_page(request, 422, f"not accepted: {msg}")
        return JSONResponse({"error": f"invalid request: {msg}", "details": details}, status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # A safety net: validation should stop such values first. Nothing was stored (the write rolled back).
        msg = "a value is outside what the database can store; nothing was stored"
        if not request.url.path.startswith("/api"):
            return pages.error_page(request, 422, msg)
        return JSONResponse({"error": msg, "where": "body"}, status_code=422)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "study_sha256": study.sha256}

    app.include_router(api)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(Guard, limit=study.config.limits.body_bytes,
                       admin_limit=study.config.limits.admin_body_bytes)
    return app
