"""Samples of the initial policy shared by the arms of one replicate.

Every arm of a replicate (a pretraining seed and an RLHF seed) starts from the same initial policy and, with
the same seeds, samples the same answers from it: the pairs its evaluator compares, the best-of-n pool, the
initial checkpoint's held-out answers. Only the evaluator differs between arms. :class:`SharingPolicy` samples
each such batch once per replicate: the first arm to ask samples and writes it into the replicate's store (a
directory of the run), the others read it. A second arm asking while the first samples waits for it
(the cache's file lock) instead of sampling too.

The numbers are those of sampling in every arm: the key is everything sampling reads (the weights, the
prompts, n, the temperature, the seed, the answer length), and a reader also gets the torch random state the
sampler was left in, so whatever draws from torch's global generator next draws what it would have.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from oversight_lab.models.policy import Policy

__all__ = ["SharingPolicy", "share_samples"]


@dataclass
class SharingPolicy(Policy):
    """A :class:`Policy` whose ``sample`` is shared through ``store`` (see the module)."""

    store: Path = field(default=Path("."))
    _weights: str = field(default="", repr=False)

    def sample(
        self, prompts: list[str], n: int = 1, temperature: float = 1.0, seed: int = 0, batch_size: int = 2048
    ) -> list[list[str]]:
        from oversight_lab.cache import load_or_build

        key = hashlib.sha256(json.dumps(
            [self.weights_digest(), prompts, n, temperature, seed, batch_size, self.max_new_tokens,
             self.word_level], sort_keys=True).encode()).hexdigest()[:24]

        def build() -> dict:
            samples = Policy.sample(self, prompts, n=n, temperature=temperature, seed=seed, batch_size=batch_size)
            rng = base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()
            return {"samples": samples, "torch_rng": rng}

        def load(path: Path) -> dict:
            return json.loads(gzip.decompress(path.read_bytes()))

        def save(value: dict, tmp: Path) -> None:
            tmp.write_bytes(gzip.compress(json.dumps(value).encode()))

        value, hit = load_or_build(self.store / f"{key}.json.gz", load, build, save)
        if hit:  # the generator as the sampler left it
            state = torch.frombuffer(bytearray(base64.b64decode(value["torch_rng"])), dtype=torch.uint8)
            torch.set_rng_state(state.clone())
        return value["samples"]

    def weights_digest(self) -> str:
        """A hash of the model's weights (computed once: the initial policy is never trained in place)."""
        if not self._weights:
            h = hashlib.sha256()
            for name, tensor in sorted(self.model.state_dict().items()):
                h.update(name.encode())
                h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            self._weights = h.hexdigest()
        return self._weights


def share_samples(policy: Policy, store: Path) -> SharingPolicy:
    """``policy``, sampling through the replicate's ``store``."""
    return SharingPolicy(policy.model, policy.tokenizer, policy.name, policy.word_level, policy.max_new_tokens,
                         store=Path(store))
