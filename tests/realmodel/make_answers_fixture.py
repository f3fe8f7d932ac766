"""Regenerate ``data/smollm2_alchemy_answers.json``: SmolLM2-135M-Instruct's answers to alchemy chats.

    python tests/realmodel/make_answers_fixture.py   # needs: oversight-lab models add smollm2-135m-instruct

Writes the model's sampled answers (the chat of :func:`oversight_lab.worlds.english.chat_messages`, its
template, temperature 0.8, seed 0) with an empty ``expected`` for each. The expected parse of every answer
is then written by hand (see the file's "labelling"), by reading the answer, not by running the parser: the
test compares the two.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from oversight_lab.models.hub import verify_model
from oversight_lab.models.loading import load_hf_policy
from oversight_lab.worlds import make_world
from oversight_lab.worlds.english import chat_messages

OUT = Path(__file__).parent / "data" / "smollm2_alchemy_answers.json"
N_TASKS, N_SAMPLES, TEMPERATURE, SEED, MAX_NEW_TOKENS = 4, 6, 0.8, 0, 32


def main() -> None:
    torch.set_num_threads(1)
    manifest = verify_model("smollm2-135m-instruct")
    policy = load_hf_policy("smollm2-135m-instruct", max_new_tokens=MAX_NEW_TOKENS)
    world = make_world("alchemy")
    tasks = world.tasks("eval", N_TASKS, seed=10_000)
    prompts = [
        policy.tokenizer.apply_chat_template(
            chat_messages(world, t), tokenize=False, add_generation_prompt=True
        )
        for t in tasks
    ]
    samples = policy.sample(prompts, n=N_SAMPLES, temperature=TEMPERATURE, seed=SEED)
    answers = [
        {"task_id": t.id, "request": t.spec["request"], "text": text, "expected": None}
        for t, texts in zip(tasks, samples, strict=True)
        for text in texts
    ]
    settings = {
        "temperature": TEMPERATURE,
        "seed": SEED,
        "max_new_tokens": MAX_NEW_TOKENS,
        "split": "eval/10000",
    }
    OUT.write_text(
        json.dumps(
            {"model_gguf_sha256": manifest["gguf_sha256"], "settings": settings, "answers": answers}, indent=1
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
