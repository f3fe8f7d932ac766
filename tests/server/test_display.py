"""What a participant reads: items through the world's English renderer, raw where it cannot read them,
progress, and the line about what the assistant sees."""

from __future__ import annotations

import json
from typing import Any

from oversight_lab.server.display import ItemRenderer, assistant_sees
from oversight_lab.server.study import AssistantConfig, parse_study

from .conftest import BASE_STUDY, Api


def test_english_view_in_the_api_and_raw_text_kept(api: Api) -> None:
    tok = api.invite()
    nxt = api.next(tok)
    assert nxt["prompt"].startswith("request ") and nxt["prompt"].endswith(" :")  # as the world wrote it
    r = nxt["readable"]
    assert r["english"] is True and r["task"].startswith("I am an alchemist. I need a potion that is ")
    for side in ("left", "right"):
        words = nxt[side].split()
        assert all(w in r[side] for w in words if w != "warning")  # the same ingredients, in a sentence
        assert r[side].startswith("Use ")
    assert "Handbook:" in r["handbook"] and "mercury" not in r["handbook"]
    again = api.as_(tok, "GET", f"/api/assignments/{nxt['assignment_id']}").json()
    assert again["readable"] == r


def test_unreadable_items_are_shown_as_stored(make_api: Any) -> None:
    api = make_api("""
name: inline
items:
  source: inline
  inline:
    - {task_id: t1, prompt: "Which is kinder?", answer_a: " Say thanks.", answer_b: " Say nothing."}
gold_share: 0
""")
    tok = api.invite()
    r = api.next(tok)["readable"]
    assert r == {"task": "Which is kinder?", "left": r["left"], "right": r["right"], "handbook": None,
                 "english": False}
    assert {r["left"], r["right"]} == {" Say thanks.", " Say nothing."}
    html = api.as_(tok, "GET", "/annotate").text
    assert "Which is kinder?" in html and 'id="handbook"' not in html


def test_malformed_answers_say_so_and_raw_display_turns_english_off(tmp_path: Any) -> None:
    study = parse_study(BASE_STUDY, "s.yaml", tmp_path)
    renderer = ItemRenderer(study)
    spec = json.dumps({"request": ["red", "cold"]})
    out = renderer.render("t", "request red cold recipe :", spec, " sulfur alum", " nonsense words here")
    assert out.english and out.left == "Use sulfur and alum."
    assert out.right.endswith("(not a well-formed answer)")
    raw = ItemRenderer(parse_study(BASE_STUDY + "display: raw\n", "s.yaml", tmp_path))
    same = raw.render("t", "request red cold recipe :", spec, " sulfur alum", " alum")
    assert (same.task, same.left, same.right, same.handbook, same.english) == (
        "request red cold recipe :", " sulfur alum", " alum", None, False)


def test_progress_counts_what_is_left_for_this_person(api: Api) -> None:
    tok = api.invite()
    pages = []
    for _ in range(3):
        html = api.as_(tok, "GET", "/annotate").text
        pages.append(html.split('id="progress">')[1].split("<")[0])
        aid = int(html.split('data-assignment="')[1].split('"')[0])
        assert api.label(tok, aid, 1).status_code == 201
    assert pages == ["Item 1 of 12", "Item 2 of 12", "Item 3 of 12"]


def test_what_the_assistant_sees() -> None:
    assert "knows some of the hazards, not all" in assistant_sees(AssistantConfig(known_hazards=0.5), True)
    assert "knows every hazard" in assistant_sees(AssistantConfig(known_hazards=1.0), False)
    assert "written in advance" in assistant_sees(AssistantConfig(kind="static"), True)
    line = assistant_sees(AssistantConfig(kind="openai", base_url="http://127.0.0.1:1/v1", model="m"), True)
    assert "language model" in line and "nothing else" in line
