"""The JSON API: labelling, idempotency and edits, counterbalancing, time limits, chat, experts, the queue."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from oversight_lab.server.db import Assignment, Event, Item, Label
from oversight_lab.server.service import ServiceError

from .conftest import ADMIN, BASE_STUDY, Api


def rows(api: Api, model: Any) -> list[Any]:
    with api.app.state.ctx.db.read() as s:
        return list(s.scalars(select(model)))


def test_label_retry_edit_and_resume(api: Api) -> None:
    tok = api.invite()
    first = api.next(tok)
    assert api.next(tok)["assignment_id"] == first["assignment_id"]  # the open assignment is resumed
    aid = first["assignment_id"]
    r = api.label(tok, aid, -2, 0.8, rationale="left is safer")
    assert r.status_code == 201 and r.json()["revision"] == 0
    again = api.label(tok, aid, -2, 0.8, rationale="left is safer")  # a retry: same label, not a new row
    assert again.status_code == 200 and again.json() == {**r.json(), "created": False}
    clash = api.label(tok, aid, 3, 0.9)
    assert clash.status_code == 409 and "edit=true" in clash.json()["error"]
    edit = api.label(tok, aid, 3, 0.9, edit=True)
    assert edit.status_code == 201 and edit.json()["revision"] == 1
    labels = rows(api, Label)
    assert [(lab.revision, lab.supersedes) for lab in labels] == [(0, None), (1, labels[0].id)]
    a = rows(api, Assignment)[0]
    assert labels[1].strength == (-3 if a.flipped else 3) and labels[1].strength_shown == 3
    assert api.next(tok)["assignment_id"] != aid


def test_edit_without_label_and_unknown_assignment(api: Api) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    assert api.label(tok, aid, 1, edit=True).status_code == 409
    assert api.label(tok, 9999, 1).status_code == 404
    other = api.invite()
    r = api.label(other, aid, 1)  # another person's assignment looks absent
    assert r.status_code == 404 and r.json()["where"] == "assignment_id"
    assert rows(api, Label) == []


def test_counterbalanced_assignment(api: Api) -> None:
    """6 people label everything: every (item, condition) cell gets exactly `overlap` labels, nobody sees an
    item twice, and each person's conditions are balanced (Latin-square rotation)."""
    people = [api.invite(name=f"p{i}") for i in range(6)]
    done = set()
    while len(done) < len(people):
        for tok in people:
            if tok in done:
                continue
            nxt = api.next(tok)
            if nxt["done"]:
                done.add(tok)
                continue
            assert api.label(tok, nxt["assignment_id"], 1).status_code == 201
    assigned = rows(api, Assignment)
    pairs = Counter((a.item_id, a.participant_id) for a in assigned)
    assert max(pairs.values()) == 1
    cells = Counter((a.item_id, a.condition) for a in assigned)
    assert len(cells) == 12 * 3 and set(cells.values()) == {2}
    for pid in {a.participant_id for a in assigned}:
        per = Counter(a.condition for a in assigned if a.participant_id == pid)
        assert sum(per.values()) == 12
        assert max(per.values()) - min(per.values()) <= 1, per
    # the first condition each person got rotates with their arrival
    firsts = [min((a for a in assigned if a.participant_id == pid), key=lambda a: a.id).condition
              for pid in sorted({a.participant_id for a in assigned})]
    assert len(set(firsts[:3])) == 3


def test_time_limit_enforced_by_server(api: Api) -> None:
    tok, other = api.invite(), api.invite()
    nxt = api.next(tok)
    api.clock.advance(60 + 2 + 1)  # limit + grace + 1 s
    r = api.label(tok, nxt["assignment_id"], 1)
    assert r.status_code == 409 and "time limit exceeded" in r.json()["error"]
    assert rows(api, Label) == []
    # the person gets a new item, never the same one; the expired cell is free again for someone else
    again = api.next(tok)
    assert again["assignment_id"] != nxt["assignment_id"] and again["prompt"] is not None
    ids = (nxt["assignment_id"], again["assignment_id"])
    mine = {a.item_id for a in rows(api, Assignment) if a.id in ids}
    assert len(mine) == 2
    theirs = api.next(other)
    first_item = next(a.item_id for a in rows(api, Assignment) if a.id == nxt["assignment_id"])
    their_item = next(a.item_id for a in rows(api, Assignment) if a.id == theirs["assignment_id"])
    assert their_item == first_item


def test_first_interaction_is_stamped_once(api: Api) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    r1 = api.as_(tok, "POST", f"/api/assignments/{aid}/interaction")
    api.clock.advance(5)
    r2 = api.as_(tok, "POST", f"/api/assignments/{aid}/interaction")
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
    assert len(rows(api, Event)) == 1


def _to_condition(api: Api, tok: str, assistance: str) -> dict[str, Any]:
    """Label items until this person is served one under a condition with `assistance`."""
    names = {c.name for c in api.study.config.conditions if c.assistance == assistance}
    for _ in range(12):
        nxt = api.next(tok)
        cond = next(a.condition for a in rows(api, Assignment) if a.id == nxt["assignment_id"])
        if cond in names:
            return nxt
        api.label(tok, nxt["assignment_id"], 1)
    raise AssertionError(f"never served a {assistance} item")


def test_chat_condition(api: Api) -> None:
    tok = api.invite()
    nxt = _to_condition(api, tok, "chat")
    assert nxt["chat"] is True and nxt["critique"] is None
    aid = nxt["assignment_id"]
    word = nxt["left"].split()[0]
    r = api.as_(tok, "POST", f"/api/assignments/{aid}/chat", json={"message": f"is {word} safe?"})
    assert r.status_code == 200 and word in r.json()["reply"]
    view = api.as_(tok, "GET", f"/api/assignments/{aid}").json()
    assert [m["speaker"] for m in view["chat_history"]] == ["person", "assistant"]
    assert api.as_(tok, "POST", f"/api/assignments/{aid}/chat", json={"message": "  "}).status_code == 422
    long = api.as_(tok, "POST", f"/api/assignments/{aid}/chat", json={"message": "x" * 501})
    assert long.status_code == 422 and "limit is 500" in long.json()["error"]


def test_critique_condition_and_no_chat_elsewhere(api: Api) -> None:
    tok = api.invite()
    nxt = _to_condition(api, tok, "critique")
    assert "left answer" in nxt["critique"] and nxt["chat"] is False
    r = api.as_(tok, "POST", f"/api/assignments/{nxt['assignment_id']}/chat", json={"message": "hi"})
    assert r.status_code == 403


def test_experts_label_only_gold_items(api: Api) -> None:
    expert = api.invite("expert")
    gold_ids = {i.id for i in rows(api, Item) if i.is_gold}
    assert 0 < len(gold_ids) < 12
    seen = set()
    while not (nxt := api.next(expert))["done"]:
        a = next(a for a in rows(api, Assignment) if a.id == nxt["assignment_id"])
        assert a.kind == "gold" and a.condition == "expert" and a.critique is None
        seen.add(a.item_id)
        assert api.label(expert, nxt["assignment_id"], -1, 0.9).status_code == 201
    assert seen == gold_ids


def test_dashboard_numbers_hand_computed(make_api: Any) -> None:
    """Two conditions, one gold item set: accuracies, the sandwich gap and agreement by hand."""
    api = make_api(BASE_STUDY.replace("gold_share: 0.5", "gold_share: 1.0").replace(
        "  - {name: chat, assistance: chat}\n", ""))
    expert = api.invite("expert")
    gold: dict[int, int] = {}  # item id -> 0 (A better) / 1 (B better)
    while not (nxt := api.next(expert))["done"]:
        a = next(a for a in rows(api, Assignment) if a.id == nxt["assignment_id"])
        g = a.item_id % 2
        gold[a.item_id] = g
        shown = (1 if g == 1 else -1) * (-1 if a.flipped else 1)  # canonical -> as shown
        api.label(expert, nxt["assignment_id"], 2 * shown, 0.9)
    assert len(gold) == 12
    people = [api.invite() for _ in range(4)]
    right = {"unaided": 0, "critique": 0}
    total = Counter()
    for k, tok in enumerate(people):
        for j in range(6):
            nxt = api.next(tok)
            a = next(a for a in rows(api, Assignment) if a.id == nxt["assignment_id"])
            correct = (j + k) % 3 != 0 if a.condition == "unaided" else True
            canonical = (1 if gold[a.item_id] == 1 else -1) * (1 if correct else -1)
            api.label(tok, nxt["assignment_id"], canonical * (-1 if a.flipped else 1), 0.7)
            right[a.condition] += correct
            total[a.condition] += 1
    d = api.admin("GET", "/api/admin/stats").json()
    acc = {c: right[c] / total[c] for c in right}
    assert d["conditions"]["unaided"]["accuracy"] == pytest.approx(acc["unaided"])
    assert d["conditions"]["critique"]["accuracy"] == pytest.approx(1.0)
    assert d["expert"]["by_definition"] is True and d["expert"]["accuracy"] == 1.0
    gap = d["sandwich_gap"]["critique"]
    assert gap["gap"] == pytest.approx((1.0 - acc["unaided"]) / (1.0 - acc["unaided"]))
    assert sum(a["n"] for a in d["annotators"]) == 24
    assert d["throughput"]["labels"] == 24 and d["throughput"]["annotators_active"] == 4
    assert d["calibration"]["all"]["n"] == 24


def test_push_items_and_batch_status(api: Api) -> None:
    item = {"task_id": "t-1", "prompt": "request red recipe :", "answer_a": " sulfur alum",
            "answer_b": " orpiment myrrh warning mercury", "task_spec": {"request": ["red"]}, "policy": "p"}
    two = [item, {**item, "task_id": "t-2"}]
    r = api.admin("POST", "/api/admin/items", json={"items": two, "batch": "b1"})
    assert r.status_code == 201 and len(r.json()["item_ids"]) == 2
    assert api.admin("POST", "/api/admin/items", json={"items": [item], "batch": "b1"}).status_code == 409
    status = api.admin("GET", "/api/admin/batches/b1").json()
    assert [i["task_id"] for i in status["items"]] == ["t-1", "t-2"] and status["items"][0]["labels"] == []
    assert api.admin("GET", "/api/admin/batches/nope").status_code == 404
    many = [{**item, "task_id": f"m{i}", "prompt": "request red recipe : " + "x" * 300} for i in range(400)]
    big = api.admin("POST", "/api/admin/items", json={"items": many})  # > 64 KiB: admin pushes may be large
    assert big.status_code == 201 and len(big.json()["item_ids"]) == 400
    bad = api.admin("POST", "/api/admin/items", json={"items": [{"task_id": "x"}]})
    assert bad.status_code == 422 and "items.0.prompt" in bad.json()["error"]


def test_restart_keeps_data_and_refuses_a_changed_study(make_api: Any, tmp_path: Path) -> None:
    api = make_api()
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    assert api.label(tok, aid, 2).status_code == 201
    again = make_api()  # the same study text on the same database: nothing is added or lost
    assert len(rows(again, Item)) == 12 and len(rows(again, Label)) == 1
    assert again.next(tok)["assignment_id"] != aid
    with pytest.raises(ServiceError, match="differs from the one frozen in this database"):
        make_api(BASE_STUDY.replace("overlap: 2", "overlap: 3"))
    assert len(rows(again, Label)) == 1


def test_admin_study_info_and_exports(api: Api) -> None:
    info = api.admin("GET", "/api/admin/study").json()
    assert info["overlap"] == 2 and [c["name"] for c in info["conditions"]] == ["unaided", "critique", "chat"]
    tok = api.invite()
    api.label(tok, api.next(tok)["assignment_id"], 0)  # a tie: stored, not exported as a comparison
    api.label(tok, api.next(tok)["assignment_id"], -3, 0.95)
    trl = api.admin("GET", "/api/admin/export/trl.jsonl")
    assert trl.status_code == 200 and trl.headers["x-study-sha256"] == api.study.sha256
    lines = [json.loads(x) for x in trl.text.splitlines()]
    assert len(lines) == 1 and lines[0]["margin"] == pytest.approx(1.0)
    csv = api.admin("GET", "/api/admin/export/labels.csv")
    assert csv.text.count("\n") == 3  # header + 2 labels, the tie included
    assert api.admin("GET", "/api/admin/export/study.yaml").text == api.study.text
    assert api.admin("GET", "/api/admin/export/secrets.txt").status_code == 404


def test_health_is_public_and_harmless(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200 and set(r.json()) == {"ok", "study_sha256"}
    assert ADMIN not in r.text


def test_dashboard_rates_are_honest_for_small_counts(api: Api) -> None:
    tok = api.invite()
    api.label(tok, api.next(tok)["assignment_id"], 1)
    d = api.admin("GET", "/api/admin/stats").json()["throughput"]
    assert d["labels"] == 1 and d["labels_per_hour"]["rate"] is None and d["labels_per_hour"]["too_few"]
    assert d["n_submit"] == 1
    html = api.admin("GET", "/admin").text
    assert "too few labels for a rate (n = 1; needs 10)" in html
    for _ in range(11):
        api.clock.advance(30)
        api.label(tok, api.next(tok)["assignment_id"], -1, 0.6)
    rate = api.admin("GET", "/api/admin/stats").json()["throughput"]["labels_per_hour"]
    assert rate["n"] == 12 and rate["too_few"] is False
    assert rate["ci"][0] < rate["rate"] < rate["ci"][1]
    assert 12 / (11 * 30 + 5) * 3600 < rate["rate"] < 12 / (11 * 30) * 3600  # 12 labels over ~330 s
    assert "exact Poisson; n = 12" in api.admin("GET", "/admin").text
