"""Eval logs: a directory with ``eval.json`` (what ran: model, tasks, sources, versions, metrics),
``samples.jsonl`` (one line per sample: the exact rendered prompt, choices, template, tokenizer hash,
log-likelihoods, probabilities and the method that produced them) and, when asked for,
``activations.safetensors`` (per-layer last-token hidden states of each prompt, keyed by sample id).

Reports and comparisons read these files, never live objects.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight_lab.evals.items import Scored

__all__ = ["LOG_FORMAT", "EvalLog", "environment", "load_activations", "read_eval_log", "write_eval_log"]

LOG_FORMAT = "oversight-lab/eval-log/1"


def _clean(value: Any) -> Any:
    """JSON has no NaN: write it as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def environment() -> dict[str, Any]:
    """Package versions and the git commit of the working tree (when there is one)."""
    from importlib.metadata import PackageNotFoundError, version

    import torch
    import transformers

    try:
        _v = version("oversight-lab")
    except PackageNotFoundError:
        _v = None
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                check=False,
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "oversight_lab": _v,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "git_commit": commit,
    }


@dataclass
class EvalLog:
    path: Path
    header: dict[str, Any]
    samples: list[Scored]

    def by_task(self) -> dict[str, list[Scored]]:
        out: dict[str, list[Scored]] = {}
        for s in self.samples:
            out.setdefault(s.item.task, []).append(s)
        return out


def write_eval_log(
    out_dir: str | Path,
    header: dict[str, Any],
    samples: list[Scored],
    activations: dict[str, Any] | None = None,
) -> Path:
    """Write the log atomically (each file to a temporary name, then renamed); returns the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = header.get("backend", {}).get("tokenizer_hash")
    tmp = out / f".samples.jsonl.tmp{os.getpid()}"
    with tmp.open("w", encoding="utf-8") as fh:
        for s in samples:
            rec = s.to_record()
            rec["tokenizer_hash"] = tokenizer
            fh.write(json.dumps(_clean(rec), ensure_ascii=False) + "\n")
    os.replace(tmp, out / "samples.jsonl")
    if activations:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in activations.items()}, str(out / "activations.safetensors"))
    header = {"format": LOG_FORMAT, **header, "activations": bool(activations)}
    tmp = out / f".eval.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(_clean(header), indent=2, ensure_ascii=False))
    os.replace(tmp, out / "eval.json")
    return out


def _log_dir(path: str | Path) -> Path:
    path = Path(path)
    return path.parent if path.is_file() else path


def read_eval_log(path: str | Path) -> EvalLog:
    """Read a log from its directory, its ``eval.json`` or its ``samples.jsonl``."""
    d = _log_dir(path)
    header_path, samples_path = d / "eval.json", d / "samples.jsonl"
    if not header_path.exists() or not samples_path.exists():
        raise FileNotFoundError(f"{d} is not an eval log (needs eval.json and samples.jsonl)")
    header = json.loads(header_path.read_text())
    if header.get("format") != LOG_FORMAT:
        raise ValueError(f"{header_path}: not an oversight-lab eval log (format {header.get('format')!r})")
    samples = []
    with samples_path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                samples.append(Scored.from_record(json.loads(line)))
            except (json.JSONDecodeError, KeyError) as exc:
                raise ValueError(f"{samples_path}:{lineno}: malformed sample record ({exc})") from None
    return EvalLog(d, header, samples)


def load_activations(path: str | Path) -> dict[str, Any]:
    """``{sample id: tensor [n_layers + 1, hidden]}`` from a log that was written with activations."""
    from safetensors.torch import load_file

    f = _log_dir(path) / "activations.safetensors"
    if not f.exists():
        raise FileNotFoundError(f"{f} does not exist: run the eval with --activations")
    return load_file(str(f))
