"""A loopback OpenAI-compatible chat server over a local HF judge model (the pattern of
``tests/evals/openai_server.py``), for testing ``OpenAIJudgeBackend`` over real HTTP.

``POST /v1/chat/completions`` renders ``system + " " + user`` (the text the local judge backend reads) and
answers with ``max_tokens`` greedy tokens. ``reply`` replaces the model's text: a function of the request's
index, e.g. garbage for every request, or for every other one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

__all__ = ["JudgeServer"]


class JudgeServer:
    def __init__(self, model_dir: str | Path, reply: Callable[[int], str | None] | None = None) -> None:
        self.tok = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
        self.reply = reply
        self.lock = threading.Lock()
        self.n_requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    return self._send(
                        404, {"error": {"message": f"no route {self.path}", "type": "not_found"}}
                    )
                return self._send(200, server.chat(body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @torch.no_grad()
    def generate(self, text: str, max_tokens: int) -> str:
        ids = self.tok(text, add_special_tokens=False)["input_ids"]
        new = []
        for _ in range(max_tokens):
            nxt = int(self.model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if nxt == self.tok.eos_token_id:
                break
            new.append(nxt)
        return self.tok.decode(new)

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            index = self.n_requests
            self.n_requests += 1
            text = " ".join(m["content"] for m in body["messages"] if m["role"] in ("system", "user"))
            override = self.reply(index) if self.reply else None
            reply = (
                override if override is not None else self.generate(text, int(body.get("max_tokens") or 4))
            )
        return {
            "id": f"chat-{index}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
