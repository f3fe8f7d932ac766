"""A loopback OpenAI-compatible server over a tiny local model, for testing the endpoint backend over real
HTTP.

Serves ``POST /v1/completions`` (``echo`` + ``logprobs`` with per-token ``text_offset``, like vLLM) and
``POST /v1/chat/completions`` (``logprobs`` + ``top_logprobs``). Switches turn capabilities off to exercise
the backend's fallbacks: ``echo=False`` answers echo requests with HTTP 400 (as hosted APIs do),
``logprobs=False`` returns no logprobs, ``completions=False`` serves chat only (404 on /v1/completions).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

__all__ = ["TinyOpenAIServer"]


class TinyOpenAIServer:
    def __init__(
        self,
        model_dir: str | Path,
        echo: bool = True,
        logprobs: bool = True,
        completions: bool = True,
        fixed_reply: str | None = None,
    ) -> None:
        self.tok = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
        self.echo, self.logprobs, self.completions, self.fixed_reply = (
            echo,
            logprobs,
            completions,
            fixed_reply,
        )
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
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
                server.requests.append({"path": self.path, **body})
                if self.path == "/v1/completions" and server.completions:
                    if body.get("echo") and not server.echo:
                        return self._send(
                            400,
                            {
                                "error": {
                                    "message": "echo is not supported with logprobs",
                                    "type": "invalid_request_error",
                                }
                            },
                        )
                    return self._send(200, server.complete(body))
                if self.path == "/v1/chat/completions":
                    return self._send(200, server.chat(body))
                return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

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

    # -- the model --------------------------------------------------------------------------------
    @torch.no_grad()
    def _run(self, text: str, max_tokens: int, k: int, echo: bool = False) -> dict[str, Any]:
        """Prompt token logprobs, ``max_tokens`` greedy tokens, and top-``k`` at each position returned
        (the prompt's positions only when they are echoed)."""
        with self.lock:
            enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)
            ids = list(enc["input_ids"])
            offsets = [a for a, _ in enc["offset_mapping"]]
            n_prompt = len(ids)
            for _ in range(max_tokens):
                logits = self.model(torch.tensor([ids])).logits[0, -1]
                ids.append(int(logits.argmax()))
            logp = torch.log_softmax(self.model(torch.tensor([ids])).logits[0].float(), dim=-1)
        token_lp: list[float | None] = [None] + [float(logp[i - 1, ids[i]]) for i in range(1, len(ids))]
        tops: list[dict[str, float] | None] = [None] * (1 if echo else n_prompt)
        for i in range(1 if echo else n_prompt, len(ids)):
            values, idx = logp[i - 1].topk(k)
            tops.append({self.tok.decode([int(j)]): float(v) for v, j in zip(values, idx, strict=True)})
        gen_text = self.tok.decode(ids[n_prompt:])
        pos = len(text)
        for j in ids[n_prompt:]:  # offsets of generated tokens continue after the prompt
            offsets.append(pos)
            pos += len(self.tok.decode([j]))
        return {
            "ids": ids,
            "n_prompt": n_prompt,
            "token_lp": token_lp,
            "tops": tops,
            "offsets": offsets,
            "gen_text": gen_text,
        }

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        k = int(body.get("logprobs") or 0)
        r = self._run(body["prompt"], int(body.get("max_tokens", 16)), max(k, 1), bool(body.get("echo")))
        start = 0 if body.get("echo") else r["n_prompt"]
        logprobs = None
        if k and self.logprobs:
            logprobs = {
                "tokens": [self.tok.decode([i]) for i in r["ids"][start:]],
                "token_logprobs": r["token_lp"][start:],
                "top_logprobs": r["tops"][start:],
                "text_offset": r["offsets"][start:],
            }
        text = (body["prompt"] if body.get("echo") else "") + (self.fixed_reply or r["gen_text"])
        return {
            "id": "cmpl-test",
            "object": "text_completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "text": text, "finish_reason": "length", "logprobs": logprobs}],
            "usage": {
                "prompt_tokens": r["n_prompt"],
                "completion_tokens": len(r["ids"]) - r["n_prompt"],
                "total_tokens": len(r["ids"]),
            },
        }

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = "".join(f"{m['content']}\n\nAssistant:" for m in body["messages"] if m["role"] == "user")
        k = int(body.get("top_logprobs") or 1)
        r = self._run(prompt, int(body.get("max_tokens", 16)), k)
        logprobs = None
        if body.get("logprobs") and self.logprobs:
            content = []
            for i in range(r["n_prompt"], len(r["ids"])):
                token = self.tok.decode([r["ids"][i]])
                content.append(
                    {
                        "token": token,
                        "logprob": r["token_lp"][i],
                        "bytes": None,
                        "top_logprobs": [
                            {"token": t, "logprob": v, "bytes": None} for t, v in r["tops"][i].items()
                        ],
                    }
                )
            logprobs = {"content": content}
        reply = self.fixed_reply or r["gen_text"]
        return {
            "id": "chat-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "length",
                    "logprobs": logprobs,
                }
            ],
            "usage": {
                "prompt_tokens": r["n_prompt"],
                "completion_tokens": len(r["ids"]) - r["n_prompt"],
                "total_tokens": len(r["ids"]),
            },
        }
