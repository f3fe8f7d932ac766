"""The FastAPI application: JSON API, pages (``pages.py``), auth by invite token, limits and errors.

Who sees what: annotators see an item's prompt and its two answers in a stored random order, the assistance
their condition gives, and nothing else: not whether the item is gold, not the condition's name, not anyone
else's labels. Experts label the gold items in their own view. Admins see the dashboard and the exports.

A request is authenticated by the ``olab_token`` cookie (set by ``/join/<token>``) or an ``Authorization:
Bearer <token>`` header. Wrong or missing tokens get 401, wrong roles 403, another person's assignment 404.
Bodies over the study's ``limits.body_bytes`` get 413 before they are parsed; malformed ones 422 naming the
field. Every acknowledged write is committed (and on SQLite fsynced) before the response is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from oversight_lab.server import service as svc
from oversight_lab.server.assistants import Assistant, make_assistant
from oversight_lab.server.dashboard import dashboard
from oversight_lab.server.db import Database, Item, Participant, StudyRow, migrate, utcnow
from oversight_lab.server.export import comparisons, long_rows, write_long
from oversight_lab.server.study import Study, StudyItem, load_items

__all__ = [
    "COOKIE",
    "Admin",
    "AnnotatorOnly",
    "Anyone",
    "AppContext",
    "ExpertOnly",
    "Labeller",
    "create_app",
    "current",
    "require",
]

COOKIE = "olab_token"
HERE = Path(__file__).parent


@dataclass
class AppContext:
    study: Study
    db: Database
    assistant: Assistant | None
    clock: Callable[[], datetime] = utcnow
    initial_admin_token: str | None = None
    # token hash -> participant. Safe to cache: participant rows are append-only, never changed or removed.
    people: dict[str, Participant] = field(default_factory=dict)


class Guard:
    """Pure ASGI middleware in front of every request (cheaper than Starlette's ``BaseHTTPMiddleware``).

    Refuses a POST whose ``Origin`` is another site (403), and request bodies over ``limit`` bytes (413)
    before any parsing; paths under ``/api/admin/`` (item pushes from ``HumanEvaluator``) get
    ``admin_limit``. Adds the security headers (CSP, nosniff, no referrer, no caching) to every response.
    """

    def __init__(self, app: Any, limit: int, admin_limit: int) -> None:
        self.app, self.default, self.admin_limit = app, limit, admin_limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.admin_limit if scope.get("path", "").startswith("/api/admin/") else self.default
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode(errors="replace")
        host = headers.get(b"host", b"").decode(errors="replace")
        foreign = origin not in ("", "null") and origin.split("://", 1)[-1] != host
        if scope.get("method") == "POST" and foreign:
            await self._json(send, 403, {"error": f"cross-site request from {origin} refused",
                                         "where": "origin"})
            return
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


CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]


def ctx_of(request: Request) -> AppContext:
    return request.app.state.ctx


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE)


def current(request: Request) -> Participant | None:
    ctx = ctx_of(request)
    token = _token(request)
    if not token:
        return None
    key = svc.hash_token(token)
    if key in ctx.people:
        return ctx.people[key]
    with ctx.db.read() as s:
        p = svc.authenticate(s, token)
        if p is not None:
            s.expunge(p)
            if len(ctx.people) < 100_000:
                ctx.people[key] = p
        return p


def require(*roles: str) -> Callable[[Request], Participant]:
    def dep(request: Request) -> Participant:
        p = current(request)
        if p is None:
            raise svc.ServiceError(401, "not signed in: open your invite link, or send "
                                   "'Authorization: Bearer <token>'")
        if p.role not in roles:
            raise svc.ServiceError(403, f"this needs the role {' or '.join(roles)}; you are {p.role}")
        return p

    return dep


Anyone = Annotated[Participant, Depends(require(*svc.ROLES))]
Labeller = Annotated[Participant, Depends(require("annotator", "expert"))]
AnnotatorOnly = Annotated[Participant, Depends(require("annotator"))]
ExpertOnly = Annotated[Participant, Depends(require("expert"))]
Admin = Annotated[Participant, Depends(require("admin"))]


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()))
        out.append({"where": where, "message": err.get("msg", "invalid")})
    return out


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(max_length=100_000)


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "expert", "annotator"]
    name: str = Field("", max_length=100)


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[StudyItem] = Field(min_length=1, max_length=10_000)
    batch: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


api = APIRouter(prefix="/api")
EXPORTS = {"labels.csv": "text/csv", "labels.parquet": "application/vnd.apache.parquet",
           "comparisons.jsonl": "application/jsonl", "trl.jsonl": "application/jsonl",
           "study.yaml": "application/yaml"}


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
        return {"done": False, **svc.served_view(s, ctx.study, a, now, labelled=False).public()}


@api.get("/assignments/{assignment_id}")
def get_assignment(assignment_id: int, request: Request,
                   p: Labeller) -> dict[str, Any]:
    ctx = ctx_of(request)
    now = ctx.clock()
    with ctx.db.read() as s:
        a = svc.own_assignment(s, p, assignment_id)
        return svc.served_view(s, ctx.study, a, now).public()


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


@api.get("/admin/batches/{batch}")
def batch(batch: str, request: Request, p: Admin) -> dict[str, Any]:
    ctx = ctx_of(request)
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
        return Response(ctx.study.text, media_type=EXPORTS[name])
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
    headers = {"Content-Disposition": f'attachment; filename="{ctx.study.config.name}-{name}"',
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
        if admin_token and svc.authenticate(s, admin_token) is None:
            svc.create_invite(s, "admin", "admin", now, token=admin_token)
        elif has_admin is None:
            _, ctx.initial_admin_token = svc.create_invite(s, "admin", "admin", now)


def create_app(study: Study, db_url: str, *, run_migrations: bool = True, assistant: Assistant | None = None,
               clock: Callable[[], datetime] = utcnow, admin_token: str | None = None,
               sync: str = "full") -> FastAPI:
    """Build the app for ``study`` on the database at ``db_url`` (created and migrated when needed)."""
    from oversight_lab.server import pages

    needs = {c.assistance for c in study.config.conditions} & {"critique", "chat"}
    if assistant is None and needs:
        assistant = make_assistant(study.config.assistant)
    ctx = AppContext(study=study, db=Database(db_url, sync=sync), assistant=assistant, clock=clock)
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
        details = _validation_details(exc)
        msg = "; ".join(f"{d['where']}: {d['message']}" for d in details)
        if not request.url.path.startswith("/api"):
            return pages.error_page(request, 422, f"invalid form: {msg}")
        return JSONResponse({"error": f"invalid request: {msg}", "details": details}, status_code=422)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "study_sha256": study.sha256}

    app.include_router(api)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(Guard, limit=study.config.limits.body_bytes,
                       admin_limit=study.config.limits.admin_body_bytes)
    return app
