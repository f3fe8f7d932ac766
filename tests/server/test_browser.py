"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): an annotator session,
an expert gold session and the admin dashboard. Screenshots are saved under test-artifacts/server/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from oversight_lab.server.db import Assignment, Event, Label

from .conftest import ADMIN, BASE_STUDY

pytestmark = pytest.mark.browser


def invite(url: str, role: str, name: str = "") -> str:
    r = httpx.post(f"{url}/api/admin/invites", json={"role": role, "name": name},
                   headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def db_rows(app: Any, model: Any) -> list[Any]:
    with app.state.ctx.db.read() as s:
        return list(s.scalars(select(model).order_by(model.id)))


def test_annotator_session(live: Any, page: Any, artifacts: Path) -> None:
    url, _study, app = live(BASE_STUDY)
    tok = invite(url, "annotator", "Browser Ann")
    page.goto(f"{url}/join/{tok}")
    page.click("#join-submit")
    assert page.url.endswith("/annotate")
    page.wait_for_selector("#prompt")
    assert page.inner_text("#timer").endswith("s")
    page.screenshot(path=str(artifacts / "annotator-item.png"), full_page=True)
    served = []
    chatted = False
    for k in range(4):
        aid = int(page.get_attribute("#label-page", "data-assignment"))
        served.append(aid)
        if page.query_selector("#chat") and not chatted:
            page.fill("#chat-message", "is " + page.inner_text("#left").split()[0] + " hazardous?")
            page.click("#chat-send")
            page.wait_for_selector(".chat-log li.assistant")
            page.screenshot(path=str(artifacts / "annotator-chat.png"), full_page=True)
            chatted = True
        page.click("body")
        page.keyboard.press("2")  # "left better"
        assert page.is_checked("input[name=strength][value='-2']")
        page.keyboard.press("]")
        page.keyboard.press("]")
        assert page.inner_text("#confidence-out") == "85%"
        if k == 0:
            page.fill("#rationale", "the left recipe avoids mercury")
            page.focus("#rationale")
            page.keyboard.press("Control+Enter")
        else:
            page.click("body")
            page.keyboard.press("Enter")
        # a selector, not wait_for_function: the page's CSP (script-src 'self') forbids the eval that a
        # string predicate needs, and the app must keep that CSP
        page.wait_for_selector(f"#label-page[data-assignment='{aid}']", state="detached")
    assert chatted
    labels = db_rows(app, Label)
    assert [lab.assignment_id for lab in labels] == served
    assert all(lab.via == "web" and lab.strength_shown == -2 and lab.confidence == pytest.approx(0.85)
               for lab in labels)
    assert labels[0].rationale == "the left recipe avoids mercury"
    assignments = {a.id: a for a in db_rows(app, Assignment)}
    for lab in labels:
        assert lab.strength == (2 if assignments[lab.assignment_id].flipped else -2)
    pinged = {e.assignment_id for e in db_rows(app, Event)}
    assert set(served) <= pinged  # the first interaction of every item was stamped by the server
    page.screenshot(path=str(artifacts / "annotator-after.png"), full_page=True)


def test_model_text_with_script_is_inert(live: Any, page: Any, artifacts: Path) -> None:
    evil = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"> sulfur"
    url, _, _ = live(f"""
name: xss
items:
  source: inline
  inline:
    - {{task_id: t1, prompt: {json.dumps(evil)}, answer_a: {json.dumps(evil)}, answer_b: " plain"}}
gold_share: 0
""")
    tok = invite(url, "annotator")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/join/{tok}")
    page.click("#join-submit")
    page.wait_for_selector("#prompt")
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned=1</script>" in page.inner_text("#prompt")
    assert page.query_selector("#left img") is None and page.query_selector("#left script") is None
    assert errors == []
    page.screenshot(path=str(artifacts / "inert-script.png"), full_page=True)


def test_expert_gold_session(live: Any, page: Any, artifacts: Path) -> None:
    url, _, app = live(BASE_STUDY)
    tok = invite(url, "expert", "Dr Gold")
    page.goto(f"{url}/join/{tok}")
    page.click("#join-submit")
    assert page.url.endswith("/expert")
    assert "Reference labelling" in page.inner_text(".bar")
    page.screenshot(path=str(artifacts / "expert-item.png"), full_page=True)
    n = 0
    while page.query_selector("#label-form"):
        page.click("label.choice:has(input[value='3'])")  # "right much better", by mouse
        page.click("#submit")
        page.wait_for_load_state()
        n += 1
        assert n < 20
    assert "Nothing left" in page.inner_text("h1")
    labels = db_rows(app, Label)
    assert len(labels) == n and all(lab.kind == "gold" and lab.condition == "expert" for lab in labels)
    page.screenshot(path=str(artifacts / "expert-done.png"), full_page=True)


def test_dashboard(live: Any, page: Any, artifacts: Path) -> None:
    url, _, _ = live(BASE_STUDY)
    expert = invite(url, "expert")
    h = {"Authorization": f"Bearer {expert}"}
    while not (nxt := httpx.post(f"{url}/api/next", headers=h).json())["done"]:
        httpx.post(f"{url}/api/assignments/{nxt['assignment_id']}/label", headers=h,
                   json={"strength": -2, "confidence": 0.9})
    for i in range(4):
        h = {"Authorization": f"Bearer {invite(url, 'annotator', f'person {i}')}"}
        for j in range(8):
            nxt = httpx.post(f"{url}/api/next", headers=h).json()
            s = -1 if (i + j) % 3 else 2
            httpx.post(f"{url}/api/assignments/{nxt['assignment_id']}/label", headers=h,
                       json={"strength": s, "confidence": 0.6 + 0.05 * (j % 5)})
    page.goto(f"{url}/join/{ADMIN}")
    page.click("#join-submit")
    assert page.url.endswith("/admin")
    for table in ("#gap", "#conditions", "#annotators", "#agreement", "#calibration", "#throughput"):
        assert page.is_visible(table), table
    assert page.locator("#annotators tr").count() == 1 + 4
    assert page.inner_text("#study-meta").startswith("12 items, ")
    assert re.search(r"\d+\.\d%", page.inner_text("#conditions"))
    page.select_option("#invite-role", "annotator")
    page.fill("#invite-name", "New Person")
    page.click("#invite-submit")
    page.wait_for_selector("#new-invite")
    link = page.inner_text("#invite-url")
    assert link.startswith(f"{url}/join/")
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    page.context.clear_cookies()
    page.goto(link)
    page.click("#join-submit")
    assert page.url.endswith("/annotate")


@pytest.mark.parametrize("width", [360, 1280])
def test_what_a_participant_sees(live: Any, page: Any, artifacts: Path, width: int) -> None:
    """Plain English with the handbook beside the answers, "Item N of M", a one-row 7-point scale from 360 px
    up, and on assisted items a line saying what the assistant can see."""
    url, _, app = live(BASE_STUDY)
    page.set_viewport_size({"width": width, "height": 900})
    tok = invite(url, "annotator", "Reader")
    page.goto(f"{url}/join/{tok}")
    page.click("#join-submit")
    page.wait_for_selector("#prompt")
    assert page.inner_text("#progress") == "Item 1 of 12"
    assert page.inner_text("#prompt").startswith("I am an alchemist. I need a potion that is ")
    for side in ("#left", "#right"):
        assert re.fullmatch(r"Use (a double dose of )?[a-z]+( and [a-z]+)?\.( Warning: .*)?",
                            page.inner_text(side)), page.inner_text(side)
    handbook = page.inner_text("#handbook")
    assert "Handbook:" in handbook and "- sulfur:" in handbook and "mercury" not in handbook
    boxes = [page.locator("label.choice").nth(i).bounding_box() for i in range(7)]
    assert len({round(b["y"]) for b in boxes}) == 1, boxes  # one row
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= width for b in boxes)
    widths = [b["width"] for b in boxes]
    assert max(widths) - min(widths) <= 1  # evenly: seven equal cells
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing spills sideways
    page.screenshot(path=str(artifacts / f"participant-{width}.png"), full_page=True)
    seen_assist = False
    for k in range(4):
        if page.query_selector("#critique") or page.query_selector("#chat"):
            assert page.inner_text("#assistant-sees") == (
                "The assistant sees the task, both answers and the handbook's properties, like you. It knows "
                "some of the hazards, not all, and it can be wrong.")
            seen_assist = True
        else:
            assert page.query_selector("#assistant-sees") is None
        page.click("label.choice:has(input[value='1'])")
        page.click("#submit")
        page.wait_for_selector(f"#progress:has-text('Item {k + 2} of 12')")
    assert seen_assist
