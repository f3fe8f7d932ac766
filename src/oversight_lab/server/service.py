"""What the web app does, without HTTP: invites, counterbalanced assignment, labels, chat, the item queue.

Every function takes a session inside ``Database.write()`` (or ``read()``) and the server's clock, so the
routes, the tests and the load generator share one implementation. Errors are ``ServiceError`` with an
HTTP status and a message that says what was wrong and where.

Assignment (counterbalanced, within subjects): an annotator gets the earliest item they have never been
served (under any condition), under the condition they have seen least so far, among the (item, condition)
cells that still need labels; conditions are rotated by the annotator's arrival number, a Latin square,
so order effects spread over conditions. A cell "needs" labels while fewer than ``overlap`` of its
assignments are labelled or still open. The database's unique (item, person) constraint makes "nobody sees
an item twice" hold even against a bug here.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from oversight_lab.server.assistants import Assistant, Shown
from oversight_lab.server.db import Assignment, ChatMessage, Event, Item, Label, Participant, StudyRow
from oversight_lab.server.display import ItemRenderer, Readable
from oversight_lab.server.study import Study, StudyItem
from oversight_lab.server.validation import SafeText, id_in_range

__all__ = [
    "ROLES",
    "LabelIn",
    "Served",
    "ServiceError",
    "add_items",
    "find_by_token",
    "batch_status",
    "chat",
    "create_invite",
    "freeze_study",
    "hash_token",
    "latest_labels",
    "next_assignment",
    "own_assignment",
    "progress",
    "record_interaction",
    "served_view",
    "submit_label",
]

ROLES = ("admin", "expert", "annotator")
STRENGTH_WORDS = {-3: "left much better", -2: "left better", -1: "left slightly better", 0: "tie",
                  1: "right slightly better", 2: "right better", 3: "right much better"}


class ServiceError(Exception):
    def __init__(self, status: int, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.where = where


class LabelIn(BaseModel):
    """A submitted judgement, in the terms the person saw: negative ``strength`` favours the left answer."""

    model_config = ConfigDict(extra="forbid")

    strength: StrictInt = Field(ge=-3, le=3, description="-3 left much better ... 0 tie ... +3 right much "
                                "better (a JSON integer; true/false are refused)")
    confidence: float = Field(ge=0.5, le=1.0, strict=True, allow_inf_nan=False,
                              description="P(your preferred answer is the better one); 0.5 for a tie")
    rationale: SafeText(100_000) | None = None  # type: ignore[valid-type]  # the study's limit is checked after
    edit: StrictBool = Field(False, description="Revise an earlier label of this assignment (a new row).")
    base_revision: StrictInt | None = Field(
        None, ge=0, le=1_000_000, description="With edit: the revision being revised. If the label has been "
        "revised since, the edit is refused (409) instead of silently replacing the other revision.")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def freeze_study(s: Session, study: Study, now: datetime) -> StudyRow:
    """Store the study text on first start; later starts must bring the same text."""
    row = s.get(StudyRow, 1)
    if row is None:
        row = StudyRow(id=1, name=study.config.name, yaml_text=study.text, sha256=study.sha256,
                       created_at=now)
        s.add(row)
        return row
    if row.sha256 != study.sha256:
        raise ServiceError(409, f"{study.source}: the study file differs from the one frozen in this "
                           f"database (sha256 {row.sha256[:12]} stored, {study.sha256[:12]} given); data "
                           "collected under one protocol must not be mixed with another: use a new database, "
                           "or the frozen text (oversight-lab export writes it out)")
    return row


def create_invite(s: Session, role: str, name: str, now: datetime, invited_by: str | None = None,
                  token: str | None = None) -> tuple[Participant, str]:
    """A new participant and their invite token (only the hash is stored)."""
    if role not in ROLES:
        raise ServiceError(422, f"role must be one of {', '.join(ROLES)}, got {role!r}", "role")
    token = token or secrets.token_urlsafe(24)
    seq = (s.scalar(select(func.max(Participant.seq))) or 0) + 1
    p = Participant(id=f"{role[0]}{seq:04d}", seq=seq, role=role, name=name[:100] or f"{role} {seq}",
                    token_sha256=hash_token(token), invited_by=invited_by, created_at=now)
    s.add(p)
    s.flush()
    return p, token


def find_by_token(s: Session, token: str | None) -> Participant | None:
    """The participant whose invite token this is, revoked or not (``auth.py`` decides who may act)."""
    if not token:
        return None
    return s.scalar(select(Participant).where(Participant.token_sha256 == hash_token(token)))


def add_items(s: Session, study: Study, items: list[StudyItem], now: datetime, batch: str | None = None,
              ) -> tuple[str, list[Item]]:
    """Append items to the queue; gold membership is a seeded draw per item, hidden from annotators."""
    batch = batch or uuid.uuid4().hex[:16]
    rows = []
    for it in items:
        key = uuid.uuid4().hex
        row = Item(key=key, task_id=it.task_id, prompt=it.prompt, answer_a=it.answer_a, answer_b=it.answer_b,
                   task_spec=json.dumps(it.task_spec, sort_keys=True), policy=it.policy,
                   critique_a=it.critique_a, critique_b=it.critique_b, batch=batch,
                   is_gold=study.is_gold(key), created_at=now)
        s.add(row)
        rows.append(row)
    s.flush()
    return batch, rows


@dataclass(frozen=True)
class Served:
    """An assignment as the person sees it. No gold, no condition name, no other person's labels."""

    assignment_id: int
    prompt: str
    left: str
    right: str
    critique: str | None
    chat: bool
    chat_history: list[tuple[str, str]]
    expires_at: datetime
    seconds_left: float
    labelled: bool
    readable: Readable | None = None  # the item in plain English, with the evaluator's handbook

    def public(self) -> dict[str, Any]:
        out = {"assignment_id": self.assignment_id, "prompt": self.prompt, "left": self.left,
               "right": self.right, "critique": self.critique, "chat": self.chat,
               "chat_history": [{"speaker": w, "text": t} for w, t in self.chat_history],
               "expires_at": self.expires_at.isoformat() + "Z", "seconds_left": round(self.seconds_left, 1),
               "labelled": self.labelled}
        if self.readable is not None:
            r = self.readable
            out["readable"] = {"task": r.task, "left": r.left, "right": r.right, "handbook": r.handbook,
                               "english": r.english}
        return out


def _shown(item: Item, flipped: bool) -> Shown:
    spec = json.loads(item.task_spec)
    if flipped:
        return Shown(item.prompt, item.answer_b, item.answer_a, spec, item.critique_b, item.critique_a)
    return Shown(item.prompt, item.answer_a, item.answer_b, spec, item.critique_a, item.critique_b)


def served_view(s: Session, study: Study, a: Assignment, now: datetime, labelled: bool | None = None,
                renderer: ItemRenderer | None = None) -> Served:
    """What the person sees; ``labelled=False`` skips a query when the caller knows (a fresh assignment);
    with a ``renderer``, the item in plain English too."""
    item = s.get(Item, a.item_id)
    assert item is not None
    shown = _shown(item, a.flipped)
    chat_on = a.kind == "annotate" and study.config.condition(a.condition).assistance == "chat"
    turns = select(ChatMessage).where(ChatMessage.assignment_id == a.id).order_by(ChatMessage.id)
    history = [(m.speaker, m.text) for m in s.scalars(turns)] if chat_on else []
    if labelled is None:
        labelled = bool(s.scalar(select(exists().where(Label.assignment_id == a.id))))
    readable = None
    if renderer is not None:
        readable = renderer.render(item.task_id, shown.prompt, shown.task_spec, shown.left, shown.right)
    return Served(a.id, shown.prompt, shown.left, shown.right, a.critique, chat_on, history, a.expires_at,
                  max(0.0, (a.expires_at - now).total_seconds()), bool(labelled), readable)


def _open_assignment(s: Session, p: Participant, now: datetime) -> Assignment | None:
    labelled = exists().where(Label.assignment_id == Assignment.id)
    return s.scalar(select(Assignment).where(Assignment.participant_id == p.id, Assignment.expires_at > now,
                                             ~labelled).order_by(Assignment.id).limit(1))


def _live_counts(s: Session, kind: str, now: datetime) -> dict[tuple[int, str], int]:
    labelled = exists().where(Label.assignment_id == Assignment.id)
    rows = s.execute(select(Assignment.item_id, Assignment.condition, func.count()).where(
        Assignment.kind == kind, (Assignment.expires_at > now) | labelled,
    ).group_by(Assignment.item_id, Assignment.condition))
    return {(i, c): n for i, c, n in rows}


@dataclass
class _Open:
    """What is still open to one person: unseen items and how many live labels each cell has."""

    kind: str
    conditions: list[str]
    want: int
    unseen: list[int]
    counts: dict[tuple[int, str], int]
    mine: Counter

    def needed(self, item: int) -> bool:
        return any(self.counts.get((item, c), 0) < self.want for c in self.conditions)


def _still_open(s: Session, study: Study, p: Participant, now: datetime) -> _Open:
    cfg = study.config
    history = s.execute(select(Assignment.item_id, Assignment.condition).where(
        Assignment.participant_id == p.id)).all()
    seen = {item for item, _ in history}
    if p.role == "expert":
        kind, conditions, want = "gold", ["expert"], cfg.expert_overlap
        items = list(s.scalars(select(Item.id).where(Item.is_gold).order_by(Item.id)))
    else:
        kind, conditions, want = "annotate", [c.name for c in cfg.conditions], cfg.overlap
        items = list(s.scalars(select(Item.id).order_by(Item.id)))
    return _Open(kind, conditions, want, [i for i in items if i not in seen], _live_counts(s, kind, now),
                 Counter(cond for _, cond in history))


def progress(s: Session, study: Study, p: Participant, now: datetime) -> tuple[int, int]:
    """(labelled so far, total) for a person: the items they labelled, plus the open one, plus every unseen
    item that still needs a label from someone. The total can fall as other people fill items."""
    done = s.scalar(select(func.count()).select_from(Label).where(Label.participant_id == p.id,
                                                                  Label.revision == 0)) or 0
    if p.role not in ("annotator", "expert"):
        return done, done
    left = _still_open(s, study, p, now)
    current = 1 if _open_assignment(s, p, now) is not None else 0
    return done, done + current + sum(1 for i in left.unseen if left.needed(i))


def next_assignment(s: Session, study: Study, p: Participant, now: datetime, assistant: Assistant | None,
                    ) -> Assignment | None:
    """The person's open assignment, or a new one; None when nothing is left for them."""
    if p.role not in ("annotator", "expert"):
        raise ServiceError(403, f"role {p.role} does not label items")
    current = _open_assignment(s, p, now)
    if current is not None:
        return current
    cfg = study.config
    left = _still_open(s, study, p, now)
    kind, conditions, want, counts, mine = left.kind, left.conditions, left.want, left.counts, left.mine
    rotation = {c: (i - p.seq) % len(conditions) for i, c in enumerate(conditions)}
    order = sorted(conditions, key=lambda c: (mine.get(c, 0), rotation[c]))
    choice: tuple[int, str] | None = None
    unseen = left.unseen
    for c in order:  # the least-seen condition first, then the earliest item that still needs it
        item_id = next((i for i in unseen if counts.get((i, c), 0) < want), None)
        if item_id is not None:
            choice = (item_id, c)
            break
    if choice is None:
        return None
    item_id, condition = choice
    flipped = random.Random(f"{cfg.seed}/flip/{item_id}/{p.id}").random() < 0.5
    critique = None
    if kind == "annotate" and cfg.condition(condition).assistance == "critique":
        if assistant is None:
            raise ServiceError(503, "this study has no assistant configured for its critique condition")
        item = s.get(Item, item_id)
        assert item is not None
        critique = assistant.critique(_shown(item, flipped))
    a = Assignment(item_id=item_id, participant_id=p.id, kind=kind, condition=condition, flipped=flipped,
                   critique=critique, served_at=now, expires_at=now + timedelta(seconds=cfg.time_limit_s))
    s.add(a)
    s.flush()
    return a


def own_assignment(s: Session, p: Participant, assignment_id: int) -> Assignment:
    if not id_in_range(assignment_id, s.get_bind().dialect.name):  # no such row can exist: not found
        raise ServiceError(404, f"assignment {str(assignment_id)[:40]} not found", "assignment_id")
    a = s.get(Assignment, assignment_id)
    if a is None or a.participant_id != p.id:  # another person's assignment looks absent, not forbidden
        raise ServiceError(404, f"assignment {assignment_id} not found", "assignment_id")
    return a


def record_interaction(s: Session, p: Participant, assignment_id: int, now: datetime) -> datetime:
    """The first interaction with an assignment, server-timestamped once; later calls return that time."""
    a = own_assignment(s, p, assignment_id)
    ev = s.scalar(select(Event).where(Event.assignment_id == a.id, Event.kind == "first_interaction"))
    if ev is None:
        ev = Event(assignment_id=a.id, kind="first_interaction", at=now)
        s.add(ev)
        s.flush()
    return ev.at


def _check_time(study: Study, a: Assignment, now: datetime) -> None:
    if now > a.expires_at + timedelta(seconds=study.config.grace_s):
        late = (now - a.expires_at).total_seconds()
        raise ServiceError(409, f"time limit exceeded: assignment {a.id} had {study.config.time_limit_s} s "
                           f"(served {a.served_at.isoformat()}Z), submitted {late:.1f} s after it expired; "
                           "the label was not stored", "assignment_id")


def submit_label(s: Session, study: Study, p: Participant, assignment_id: int, body: LabelIn, now: datetime,
                 via: Literal["web", "api"]) -> tuple[Label, bool]:
    """Store a label; returns (label, created). Resending the same label is idempotent (created=False)."""
    a = own_assignment(s, p, assignment_id)
    limit = study.config.limits.rationale_chars
    rationale = (body.rationale or "").strip() or None
    if rationale is not None and len(rationale) > limit:
        raise ServiceError(422, f"rationale has {len(rationale)} characters, the limit is {limit}",
                           "rationale")
    if body.strength == 0 and body.confidence != 0.5:
        raise ServiceError(422, "a tie (strength 0) has confidence 0.5: neither answer is preferred",
                           "confidence")
    last = s.scalar(select(Label).where(Label.assignment_id == a.id).order_by(Label.revision.desc()).limit(1))
    if last is not None:
        same = (last.strength_shown, last.confidence, last.rationale) == (body.strength, body.confidence,
                                                                          rationale)
        if same:  # a retry of an acknowledged (or committed but unacknowledged) label or edit: no new row
            return last, False
        if not body.edit:
            raise ServiceError(409, f"assignment {a.id} is already labelled (label {last.id}); send "
                               "edit=true to revise it (the earlier label is kept)", "edit")
        if body.base_revision is not None and body.base_revision != last.revision:
            raise ServiceError(409, f"assignment {a.id}'s label is at revision {last.revision}, not "
                               f"{body.base_revision}: it was revised meanwhile; reload and edit again",
                               "base_revision")
    elif body.edit:
        raise ServiceError(409, f"assignment {a.id} has no label to edit yet", "edit")
    _check_time(study, a, now)
    canonical = -body.strength if a.flipped else body.strength
    label = Label(assignment_id=a.id, participant_id=p.id, item_id=a.item_id, kind=a.kind,
                  condition=a.condition, revision=0 if last is None else last.revision + 1,
                  supersedes=None if last is None else last.id, strength=canonical,
                  strength_shown=body.strength, confidence=float(body.confidence), rationale=rationale,
                  via=via, submitted_at=now)
    s.add(label)
    s.flush()
    return label, True


def chat(s: Session, study: Study, p: Participant, assignment_id: int, message: str, now: datetime,
         assistant: Assistant | None) -> str:
    """One chat turn: the person's message and the assistant's reply, both stored with server times."""
    a = own_assignment(s, p, assignment_id)
    limits = study.config.limits
    if a.kind != "annotate" or study.config.condition(a.condition).assistance != "chat":
        raise ServiceError(403, "this assignment has no chat assistant")
    if assistant is None:
        raise ServiceError(503, "this study has no assistant configured for its chat condition")
    message = message.strip()
    if not message:
        raise ServiceError(422, "message is empty", "message")
    if len(message) > limits.chat_chars:
        raise ServiceError(422, f"message has {len(message)} characters, the limit is {limits.chat_chars}",
                           "message")
    _check_time(study, a, now)
    history = [(m.speaker, m.text) for m in s.scalars(
        select(ChatMessage).where(ChatMessage.assignment_id == a.id).order_by(ChatMessage.id))]
    if sum(1 for w, _ in history if w == "person") >= limits.chat_turns:
        raise ServiceError(429, f"chat limit of {limits.chat_turns} messages per item reached", "message")
    item = s.get(Item, a.item_id)
    assert item is not None
    reply = assistant.chat(_shown(item, a.flipped), history, message)
    s.add(ChatMessage(assignment_id=a.id, speaker="person", text=message, at=now))
    s.add(ChatMessage(assignment_id=a.id, speaker="assistant", text=reply, at=now))
    return reply


def latest_labels(s: Session, kind: str | None = None) -> list[Label]:
    """The latest revision of every label (edits replace earlier revisions here; exports keep them all)."""
    q = select(Label).order_by(Label.assignment_id, Label.revision)
    if kind:
        q = q.where(Label.kind == kind)
    latest: dict[int, Label] = {}
    for lab in s.scalars(q):
        latest[lab.assignment_id] = lab
    return list(latest.values())


def batch_status(s: Session, batch: str) -> dict[str, Any]:
    """Items of a pushed batch and their (latest) annotation labels in canonical A/B terms."""
    items = list(s.scalars(select(Item).where(Item.batch == batch).order_by(Item.id)))
    if not items:
        raise ServiceError(404, f"batch {batch!r} not found", "batch")
    ids = {it.id for it in items}
    by_item: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    q = select(Label).where(Label.item_id.in_(ids), Label.kind == "annotate")
    latest: dict[int, Label] = {}
    for lab in s.scalars(q.order_by(Label.assignment_id, Label.revision)):
        latest[lab.assignment_id] = lab
    for lab in latest.values():
        by_item[lab.item_id].append({"label_id": lab.id, "participant_id": lab.participant_id,
                                     "condition": lab.condition, "strength": lab.strength,
                                     "confidence": lab.confidence, "rationale": lab.rationale})
    return {"batch": batch, "items": [{"item_id": it.id, "task_id": it.task_id, "labels": by_item[it.id]}
                                      for it in items]}
