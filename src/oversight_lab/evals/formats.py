"""Rendering conversations into the exact prompt text a model is scored on.

Sycophancy datasets are conversations (a human turn, sometimes an assistant prefill). ``hh`` renders them in
the ``Human: …\\n\\nAssistant: …`` format the datasets were written for (Perez et al. 2022; Sharma et al.
2023) and which lm-eval uses; ``chat`` uses the model's own chat template, continuing the final assistant
message. The template's name (with a hash of the chat template) is logged with every sample.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "PromptFormat", "chat_format", "hh_format"]

Message = dict[str, str]  # {"role": "user" | "assistant", "content": str}


@dataclass(frozen=True)
class PromptFormat:
    """Turns a conversation ending in an assistant prefill into a prompt string."""

    name: str
    tokenizer: Any = None

    def render(self, messages: list[Message]) -> str:
        if self.tokenizer is None:
            return _render_hh(messages)
        if messages and messages[-1]["role"] == "assistant":
            return self.tokenizer.apply_chat_template(messages, tokenize=False, continue_final_message=True)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _render_hh(messages: list[Message]) -> str:
    parts = []
    for m in messages:
        speaker = "Human" if m["role"] == "user" else "Assistant"
        parts.append(f"{speaker}: {m['content']}" if m["content"] else f"{speaker}:")
    return "\n\n".join(parts)


def hh_format() -> PromptFormat:
    return PromptFormat("hh")


def chat_format(tokenizer: Any) -> PromptFormat:
    """The tokenizer's chat template; an error if it has none (use ``hh`` for base models)."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise ValueError("prompt format 'chat' needs a tokenizer with a chat template; this one has none")
    digest = hashlib.sha256(str(template).encode()).hexdigest()[:10]
    return PromptFormat(f"chat:{digest}", tokenizer)
