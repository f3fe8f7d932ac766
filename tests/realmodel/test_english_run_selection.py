"""Which runs take the English loop: an hf: chat model in a world with an English form, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from oversight_lab.config import resolve_config
from oversight_lab.loop_english import is_english_run


def test_chat_models_in_english_worlds_only(tmp_path: Path) -> None:
    chat, plain = tmp_path / "chat", tmp_path / "plain"
    chat.mkdir()
    plain.mkdir()
    (chat / "chat_template.jinja").write_text("{{ messages }}")
    (plain / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 64}))
    assert is_english_run(resolve_config({}, {"policy": f"hf:{chat}"}))
    assert is_english_run(resolve_config({}, {"policy": f"hf:{chat}", "world": "banking"}))
    assert is_english_run(resolve_config({}, {"policy": f"hf:{chat}", "world": "opinions"}))  # worlds/english_qa
    assert not is_english_run(resolve_config({}, {"policy": f"hf:{chat}", "world": "no-english-form"}))
    assert not is_english_run(resolve_config({}, {"policy": f"hf:{plain}"}))
    assert not is_english_run(resolve_config({}, {}))  # the tiny model keeps the word-level loop
    (plain / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    assert is_english_run(resolve_config({}, {"policy": f"hf:{plain}"}))
