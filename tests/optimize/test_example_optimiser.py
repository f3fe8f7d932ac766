"""A new optimiser is one file plus one registry line. This file is the optimiser: its config (documented,
named, labelled) and its run function, ``sft_chosen``, supervised fine-tuning on the answers the evaluator
chose (filtered behavioural cloning); ``ExampleRunConfig``'s one field is the registry line (in the lab, that
line goes into ``RunConfig`` in config.py). The loop runs it, its rows carry its name, and its name and label
are in the optimiser registry that summaries and reports read."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field

from oversight_lab.config import RunConfig, optimisers, resolve_config
from oversight_lab.optimize.base import ArmContext, OptimiserConfig, optimiser_labels


class ChosenSFTConfig(OptimiserConfig):
    """Supervised fine-tuning on the evaluator's chosen answers (``sft_chosen.*``)."""

    name: ClassVar[str] = "sft_chosen"
    label: ClassVar[str] = "SFT on chosen answers"
    kl_label: ClassVar[str] = "√KL (Monte-Carlo, k1)"
    runner: ClassVar[str] = f"{__name__}:run"

    steps: int = Field(4, ge=1, description="full-batch gradient steps, a checkpoint after each")
    lr: float = Field(3e-3, gt=0, description="learning rate (AdamW)")


def run(ctx: ArmContext, cfg: ChosenSFTConfig) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    ctx.start("sft_chosen", cfg.steps)
    torch.manual_seed(ctx.seed)
    model = AutoModelForCausalLM.from_pretrained(ctx.init_dir)
    tok = ctx.initial.tokenizer
    side, tok.padding_side = tok.padding_side, "right"
    enc = tok([c.prompt + c.chosen_text + tok.eos_token for c in ctx.comparisons], return_tensors="pt",
              padding=True, add_special_tokens=False)
    tok.padding_side = side
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    for step in range(1, cfg.steps + 1):
        model.train()
        model(**enc, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
        model.eval()
        ctx.score("sft_chosen", step, cfg.steps, model)
    ctx.save(model, "sft_chosen")


class ExampleRunConfig(RunConfig):
    sft_chosen: ChosenSFTConfig = Field(default_factory=ChosenSFTConfig, description="SFT on chosen answers")


TINY = {"seeds": 1, "tiny.steps": 40, "tiny.corpus_lines": 300, "feedback.n_comparisons": 48,
        "reward.steps": 4, "bon.enabled": False, "rl.enabled": False, "dpo.enabled": False, "eval.n_tasks": 4,
        "eval.samples_per_task": 2}


def test_the_registry_line_adds_it_after_the_others():
    assert [o.name for o in optimisers(ExampleRunConfig())] == ["bon", "rl", "dpo", "sft_chosen"]
    labels = optimiser_labels()
    assert labels["sft_chosen"] == {"label": "SFT on chosen answers", "kl_label": "√KL (Monte-Carlo, k1)"}
    assert {"bon", "rl", "dpo"} <= set(optimiser_labels())


@pytest.mark.slow
def test_the_loop_runs_it_and_logs_its_rows_by_name(tmp_path):
    from oversight_lab.loop import run_arm

    data = {**resolve_config({}, TINY).model_dump(), "sft_chosen": {"steps": 2}}
    cfg = ExampleRunConfig.model_validate(data)
    res = run_arm(cfg, "flawed", 0, tmp_path)
    rows = [r for r in res.rows if r["optimizer"] == "sft_chosen"]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[0]["kl/seq_k1"] == 0.0 and rows[-1]["kl/seq_k1"] != 0.0  # starts at the initial policy, moves
    assert {r["optimizer"] for r in res.rows} == {"initial", "sft_chosen"}
    assert "sft_chosen" in res.summary["timings"]
    assert (tmp_path / "checkpoints" / "sft_chosen" / "config.json").exists()
    # the summary picks its rows up by name: final gold, proxy gain and mercury use of the new optimiser
    from oversight_lab.runs.summary import summarise

    summary = summarise(res.rows, ["flawed"], [(0, 0)])
    assert {"sft_chosen_gold_final", "sft_chosen_proxy_gain", "sft_chosen_toxic_final"} <= set(summary["headlines"])
    assert summary["arms"]["flawed"]["per_seed"]["0"]["sft_chosen_gold_final"] == rows[-1]["gold/mean"]
