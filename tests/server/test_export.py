"""Exports: long format with every field and revision, Comparison records, TRL, HF dataset, frozen study."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from oversight_lab.feedback import read_comparisons, to_trl
from oversight_lab.server.cli import register
from oversight_lab.server.export import LONG_FIELDS, comparisons, export_study, long_rows

from .conftest import BASE_STUDY, Api


def populate(api: Api) -> dict[str, str]:
    """An expert labels gold; one annotator gives a strong label, edits another, and ties a third."""
    expert, tok = api.invite("expert"), api.invite("annotator", "Ann")
    while not (nxt := api.next(expert))["done"]:
        api.label(expert, nxt["assignment_id"], 3, 0.9)
    a1 = api.next(tok)["assignment_id"]
    api.label(tok, a1, -3, 0.9, rationale="left is safe")
    a2 = api.next(tok)["assignment_id"]
    api.label(tok, a2, 1, 0.6)
    api.label(tok, a2, 2, 0.7, edit=True)
    a3 = api.next(tok)["assignment_id"]
    api.label(tok, a3, 0, 0.5)
    return {"annotator": tok, "expert": expert}


def test_long_rows_and_comparisons(api: Api) -> None:
    populate(api)
    with api.app.state.ctx.db.read() as s:
        rows = long_rows(s, api.study)
        recs = comparisons(s, api.study)
    annot = [r for r in rows if r["kind"] == "annotate"]
    assert len(annot) == 4 and sum(r["is_latest"] for r in annot) == 3  # the edit's original is kept
    assert all(set(r) == set(LONG_FIELDS) for r in rows)
    edited = next(r for r in annot if r["revision"] == 1)
    assert edited["supersedes"] is not None and edited["strength_shown"] == 2
    for r in annot:
        assert r["strength"] == (-r["strength_shown"] if r["flipped"] else r["strength_shown"])
        assert r["served_at"] <= r["submitted_at"] and r["study_sha256"] == api.study.sha256
    # ties and expert labels are not training comparisons; edits count once (the latest)
    assert len(recs) == 2 and {r.evaluator for r in recs} == {"human:a0003"}
    strong = next(r for r in recs if r.rationale == "left is safe")
    row = next(r for r in annot if r["rationale"] == "left is safe")
    assert strong.chosen == int(row["strength"] > 0) and strong.margin == pytest.approx(1.0)
    assert strong.prob_a == pytest.approx(0.9 if row["strength"] < 0 else 0.1)
    assert strong.evaluator_config["condition"] in {"unaided", "critique", "chat"}
    trl = to_trl(recs, margin=True)
    assert {round(t["margin"], 4) for t in trl} == {1.0, round(2 / 3, 4)}


def test_export_study_writes_everything(api: Api, tmp_path: Path) -> None:
    populate(api)
    out = tmp_path / "export"
    with api.app.state.ctx.db.read() as s:
        manifest = export_study(s, api.study, out)
    assert manifest["comparisons"] == 2 and manifest["ties_skipped"] == 1
    assert manifest["expert_labels_excluded"] >= 1
    assert (out / "study.yaml").read_text() == api.study.text
    with open(out / "labels.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == manifest["label_rows"] and list(table[0]) == LONG_FIELDS
    import pyarrow.parquet as pq

    pt = pq.read_table(out / "labels.parquet")
    assert pt.num_rows == manifest["label_rows"]
    assert pt.schema.metadata[b"oversight_lab.study_yaml"].decode() == api.study.text
    assert len(read_comparisons(out / "comparisons.jsonl")) == 2
    trl = [json.loads(x) for x in (out / "trl.jsonl").read_text().splitlines()]
    assert len(trl) == 2 and set(trl[0]) == {"prompt", "chosen", "rejected", "margin"}
    import datasets

    ds = datasets.load_from_disk(str(out / "dataset"))
    assert ds.num_rows == 2 and set(ds.column_names) == {"prompt", "chosen", "rejected"}


def test_cli_export(make_api: Any, tmp_path: Path) -> None:
    api = make_api()
    populate(api)
    app = typer.Typer()
    register(app)
    study_file = tmp_path / "study.yaml"
    result = CliRunner().invoke(app, ["export", str(study_file), str(tmp_path / "o"), "--db",
                                      str(tmp_path / "study.db"), "--no-dataset"])
    assert result.exit_code == 0, result.output
    assert "2 comparisons (1 ties skipped)" in result.output
    assert not (tmp_path / "o" / "dataset").exists() and (tmp_path / "o" / "labels.parquet").exists()
    missing = CliRunner().invoke(app, ["export", str(study_file), str(tmp_path / "p"), "--db",
                                       str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and "no such database" in missing.output


def test_cli_serve_refuses_bad_input(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nconditions: [{name: a, assistance: telepathy}]\n")
    r = CliRunner().invoke(app, ["serve", str(bad)])
    assert r.exit_code == 2 and "key 'conditions.0.assistance'" in r.output and str(bad) in r.output
    good = tmp_path / "good.yaml"
    good.write_text(BASE_STUDY)
    changed = tmp_path / "changed.yaml"
    changed.write_text(BASE_STUDY.replace("overlap: 2", "overlap: 4"))
    from oversight_lab.server.app import create_app
    from oversight_lab.server.study import load_study

    create_app(load_study(good), f"sqlite:///{tmp_path / 'shared.db'}")
    r = CliRunner().invoke(app, ["serve", str(changed), "--db", str(tmp_path / "shared.db")])
    assert r.exit_code == 2 and "differs from the one frozen" in r.output
    r = CliRunner().invoke(app, ["serve", str(good), "--db", str(tmp_path / "x.db"), "--sync", "sometimes"])
    assert r.exit_code == 2 and "sync must be" in r.output
