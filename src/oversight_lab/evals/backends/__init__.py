"""Which model an eval scores. MODEL specs:

* ``hf:<hub id or path>``: a Hugging Face causal LM (loaded with ``AutoModelForCausalLM``);
* ``openai:<base_url>#<model>``: an OpenAI-compatible endpoint;
* ``run:<checkpoint dir>``: a closed-loop checkpoint, ``RUN_DIR/arms/<arm>/seed-<s>/checkpoints/<name>``;
* ``run:<RUN_DIR>`` with ``checkpoint="<arm>/<seed>/<name>"`` (``seed`` as ``0`` or ``seed-0``);
* a bare directory path holding a ``config.json`` (the same as ``hf:<path>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from oversight_lab.evals.formats import PromptFormat
from oversight_lab.evals.items import Item, Scored

__all__ = ["Backend", "load_backend", "resolve_checkpoint"]


class Backend(Protocol):
    name: str
    info: dict[str, Any]

    def score(self, items: list[Item]) -> list[Scored]: ...

    def prompt_format(self, kind: str) -> PromptFormat: ...


def resolve_checkpoint(run_dir: str | Path, checkpoint: str | None = None) -> Path:
    """The checkpoint directory named by a run directory and ``arm/seed/name`` (or the directory itself)."""
    path = Path(run_dir)
    if checkpoint:
        parts = checkpoint.strip("/").split("/")
        if len(parts) != 3:
            raise ValueError(f"--checkpoint {checkpoint!r}: expected ARM/SEED/NAME, e.g. flawed/0/rl")
        arm, seed, name = parts
        seed = seed if seed.startswith("seed-") else f"seed-{seed}"
        path = path / "arms" / arm / seed / "checkpoints" / name
    if not (path / "config.json").exists():
        hint = ""
        root = Path(run_dir)
        if (root / "arms").is_dir():
            found = sorted(
                "/".join((c.parts[-5], c.parts[-4], c.parts[-2]))
                for c in root.glob("arms/*/*/checkpoints/*/config.json")
            )
            hint = f"; checkpoints in this run (ARM/SEED/NAME): {', '.join(found) or 'none'}"
        raise FileNotFoundError(f"no model checkpoint (config.json) at {path}{hint}")
    return path


def load_backend(spec: str, checkpoint: str | None = None, batch_size: int = 32, **kwargs: Any) -> Backend:
    """A scoring backend for a MODEL spec (see the module docstring)."""
    if spec.startswith("openai:"):
        from oversight_lab.evals.backends.openai_compat import OpenAIBackend, parse_openai_spec

        base_url, model = parse_openai_spec(spec)
        return OpenAIBackend(base_url=base_url, model=model, **kwargs)
    from oversight_lab.evals.backends.hf import HFBackend

    if spec.startswith("run:") or checkpoint:
        path = resolve_checkpoint(spec.removeprefix("run:"), checkpoint)
        backend = HFBackend.from_pretrained(path, batch_size=batch_size, **kwargs)
        backend.name = backend.info["model"] = f"run:{path}"
        return backend
    if spec.startswith("hf:"):
        from oversight_lab.models.hub import resolve_model

        return HFBackend.from_pretrained(resolve_model(spec[3:]), batch_size=batch_size, **kwargs)
    if Path(spec).is_dir():
        return HFBackend.from_pretrained(resolve_checkpoint(spec), batch_size=batch_size, **kwargs)
    raise ValueError(
        f"model spec {spec!r}: use hf:<id or path>, openai:<base_url>#<model>, run:<checkpoint dir> "
        "or a checkpoint directory"
    )
