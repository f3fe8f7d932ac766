"""Hostile input: ids beyond the database's range, control characters, bidi overrides, bool-as-int, NaN,
non-Latin-1 study names in downloads, CSV formula injection, concurrent identical edits, unbounded admin
text."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from sqlalchemy import func, select

from oversight_lab.server.db import Assignment, ChatMessage, Database, Item, Label, Participant
from oversight_lab.server.study import StudyError, parse_study
from oversight_lab.server.validation import (
    content_disposition,
    csv_cell,
    id_in_range,
    neutralise_bidi,
)

from .conftest import ADMIN, BASE_STUDY, Api

BIG_IDS = [0, -1, 2**31, 2**63 - 1, 2**63, 2**64 + 7, 10**30]


def counts(api: Api) -> tuple[int, ...]:
    with api.app.state.ctx.db.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) or 0
                     for m in (Label, Assignment, Item, Participant, ChatMessage))


def test_id_ranges_per_database() -> None:
    assert id_in_range(2**63 - 1, "sqlite") and not id_in_range(2**63, "sqlite")
    assert id_in_range(2**31 - 1, "postgresql") and not id_in_range(2**31, "postgresql")
    assert not id_in_range(0, "sqlite") and not id_in_range(-5, "postgresql")
    # the server checks ids against the dialect of its own engine (no connection needed to know it)
    assert Database("postgresql+psycopg://u:p@127.0.0.1:1/none").dialect == "postgresql"


@pytest.mark.parametrize("big", BIG_IDS)
def test_ids_out_of_range_are_not_found(api: Api, big: int) -> None:
    tok = api.invite()
    api.next(tok)
    before = counts(api)
    for method, path in (("GET", f"/api/assignments/{big}"), ("POST", f"/api/assignments/{big}/interaction"),
                         ("POST", f"/api/assignments/{big}/label"), ("POST", f"/api/assignments/{big}/chat")):
        body = {"message": "hi"} if path.endswith("chat") else {"strength": 1, "confidence": 0.7}
        r = api.as_(tok, method, path, json=body)
        assert r.status_code in (403, 404), (path, r.text)  # 403: this person's condition has no chat
        if r.status_code == 404:
            assert r.json()["where"] == "assignment_id"
    page = api.as_(tok, "POST", f"/label/{big}", data={"strength": "1", "confidence": "0.7"})
    assert page.status_code == 404 and "not found" in page.text
    assert "text/html" in page.headers["content-type"]
    assert counts(api) == before


def test_non_integer_ids_are_422(api: Api) -> None:
    tok = api.invite()
    for bad in ("1e3", "1.5", "abc", "%00", "1%00"):
        r = api.as_(tok, "GET", f"/api/assignments/{bad}")
        assert r.status_code == 422 and "assignment_id must be a whole number" in r.json()["error"], bad


CONTROL = ["a\x00b", "nul at end\x00", "bell\x07", "esc\x1b[31m", "c1\x85", "del\x7f", "\ud800 surrogate"]


@pytest.mark.parametrize("text", CONTROL)
def test_control_characters_refused_everywhere(api: Api, text: str) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    before = counts(api)

    def post(token: str, path: str, body: dict[str, Any]) -> Any:  # JSON escapes, as any client would send
        return api.as_(token, "POST", path, content=json.dumps(body),
                       headers={"Content-Type": "application/json"})

    r = post(tok, f"/api/assignments/{aid}/label", {"strength": 1, "confidence": 0.7, "rationale": text})
    assert r.status_code == 422 and "rationale" in r.json()["error"] and "U+" in r.json()["error"]
    r = post(ADMIN, "/api/admin/invites", {"role": "annotator", "name": text})
    assert r.status_code == 422 and "name" in r.json()["error"]
    item = {"task_id": "t", "prompt": "p", "answer_a": " a", "answer_b": " b"}
    for key, value in (("prompt", text), ("answer_b", text), ("task_id", text), ("critique_a", text),
                       ("task_spec", {"request": [text]}), ("task_spec", {text: 1})):
        r = post(ADMIN, "/api/admin/items", {"items": [{**item, key: value}]})
        assert r.status_code == 422 and f"items.0.{key}" in r.json()["error"], (key, r.text)
    path = "/api/admin/batches/x" + quote(text[:3], errors="surrogatepass")
    assert api.admin("GET", path).status_code == 404
    if text.isascii() or "\x85" in text:  # a browser's form cannot carry a lone surrogate at all
        form = api.as_(tok, "POST", f"/label/{aid}", data={"strength": "1", "confidence": "0.7",
                                                           "rationale": text})
        assert form.status_code == 422 and "not stored: rationale contains U+" in form.text
        invite = api.as_(ADMIN, "POST", "/admin/invite", data={"role": "expert", "name": text})
        assert invite.status_code == 422 and "invite not created: name contains U+" in invite.text
    assert counts(api) == before


def test_tabs_and_newlines_are_kept_where_text_has_lines(api: Api) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    assert api.label(tok, aid, 1, rationale="line one\n\tline two\r\n").status_code == 201
    r = api.admin("POST", "/api/admin/invites", json={"role": "annotator", "name": "two\nlines"})
    assert r.status_code == 422  # a name is one line


def test_bidi_controls_are_shown_as_marks_and_flagged(make_api: Any) -> None:
    rlo = "\u202e"
    api = make_api(f"""
name: bidi
items:
  source: inline
  inline:
    - {{task_id: t1, prompt: "which potion?", answer_a: {json.dumps(" sulfur " + rlo + "yrrum")},
       answer_b: " alum"}}
gold_share: 0
""")
    tok = api.invite(name="Ann" + rlo)
    html = api.as_(tok, "GET", "/annotate").text
    assert rlo not in html and "sulfur [U+202E]yrrum" in html and "Ann[U+202E]" in html
    aid = int(html.split('data-assignment="')[1].split('"')[0])
    assert api.label(tok, aid, 1, rationale="looks fine " + rlo + "txet").status_code == 201
    with api.app.state.ctx.db.read() as s:  # stored exactly as sent
        assert s.scalar(select(Label.rationale)) == "looks fine " + rlo + "txet"
    flags = api.admin("GET", "/api/admin/stats").json()["text_flags"]
    assert {(f["table"], f["field"]) for f in flags} == {("items", "answer_a"), ("labels", "rationale"),
                                                        ("participants", "name")}
    admin = api.admin("GET", "/admin").text
    assert "3 stored text field(s) hold bidirectional control characters" in admin and rlo not in admin
    assert neutralise_bidi("a\u2066b\u2069") == "a[U+2066]b[U+2069]" and neutralise_bidi("plain") == "plain"


def test_form_errors_are_plain_sentences(api: Api) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    for data, needle in (({"strength": "true", "confidence": "0.8"}, "whole number from -3 to 3"),
                         ({"strength": "2", "confidence": "nan"}, "finite number"),
                         ({"strength": "2", "confidence": "0.2"}, "from 0.5 to 1.0"),
                         ({"confidence": "0.8"}, "choose one of the seven options"),
                         ({"strength": "99999999999999999999999", "confidence": "0.8"}, "whole number")):
        r = api.as_(tok, "POST", f"/label/{aid}", data=data)
        assert r.status_code == 422 and needle in r.text, (data, r.text[-500:])
        assert "pydantic" not in r.text and "errors.pydantic.dev" not in r.text
    assert counts(api)[0] == 0


def test_study_texts_have_limits(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="key 'instructions': .*at most 5000 characters"):
        parse_study(BASE_STUDY + f"instructions: {'x' * 5001}\n")
    with pytest.raises(StudyError, match="key 'instructions': .*U\\+0007"):
        parse_study(BASE_STUDY + 'instructions: "ring \\a"\n')
    with pytest.raises(StudyError, match="key 'description'"):
        parse_study(BASE_STUDY + f"description: {'x' * 10_001}\n")
    with pytest.raises(StudyError, match="key 'assistant.model'"):
        parse_study(BASE_STUDY.replace("assistant: {kind: world, known_hazards: 0.5}",
                                       f"assistant: {{kind: world, model: {'m' * 201}}}"))
    assert parse_study(BASE_STUDY + f"instructions: {'x' * 5000}\n").config.instructions == "x" * 5000


def test_downloads_with_any_study_name(make_api: Any) -> None:
    name = 'Étude "研究" ✓'
    api = make_api(BASE_STUDY.replace("name: test-study", f"name: '{name}'"))
    tok = api.invite()
    api.label(tok, api.next(tok)["assignment_id"], 2)
    for export in ("labels.csv", "labels.parquet", "comparisons.jsonl", "trl.jsonl", "study.yaml"):
        r = api.admin("GET", f"/api/admin/export/{export}")
        assert r.status_code == 200, export
        header = r.headers["content-disposition"]
        assert header.startswith('attachment; filename="') and header.isascii()
        star = header.split("filename*=UTF-8''")[1]
        assert unquote(star) == f"{name}-{export}"
    assert content_disposition("plain.csv") == 'attachment; filename="plain.csv"'
    assert content_disposition('a"b\\c;d.csv').startswith('attachment; filename="a_b_c_d.csv"; filename*=')


def test_csv_cells_cannot_run_as_formulas(api: Api) -> None:
    tok = api.invite()
    hostile = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "=1\t+2", "fine"]
    for text in hostile:
        assert api.label(tok, api.next(tok)["assignment_id"], 1, rationale=text).status_code == 201
    rows = list(csv.DictReader(io.StringIO(api.admin("GET", "/api/admin/export/labels.csv").text)))
    assert [r["rationale"] for r in rows] == ["'" + t for t in hostile[:5]] + ["fine"]
    assert all(r["strength"].lstrip("-").isdigit() for r in rows)  # numbers stay numbers
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(api.admin("GET", "/api/admin/export/labels.parquet").content))
    assert table.column("rationale").to_pylist()[0] == hostile[0]  # Parquet keeps what was stored
    assert csv_cell("\rx") == "'\rx" and csv_cell("\tx") == "'\tx"
    assert csv_cell(-3) == -3 and csv_cell(" =x") == " =x"


def test_concurrent_identical_edits_make_one_revision(api: Api) -> None:
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    assert api.label(tok, aid, -1, 0.6).status_code == 201
    results: list[Any] = []

    def edit() -> None:
        results.append(api.label(tok, aid, 3, 0.9, edit=True, base_revision=0))

    threads = [threading.Thread(target=edit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert {r.json()["revision"] for r in results} == {1}
    with api.app.state.ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 2
    stale = api.label(tok, aid, 2, 0.7, edit=True, base_revision=0)  # someone else revised it meanwhile
    assert stale.status_code == 409 and stale.json()["where"] == "base_revision"
    assert api.label(tok, aid, 2, 0.7, edit=True, base_revision=1).json()["revision"] == 2
