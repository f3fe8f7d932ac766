"""``oversight-lab serve STUDY.yaml`` and ``oversight-lab export STUDY.yaml OUT``.

``register(app)`` adds both commands to a Typer app (the main CLI calls it). Run on its own as
``python -m oversight_lab.server.cli serve STUDY.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["db_url", "register"]

ADMIN_TOKEN_ENV = "OVERSIGHT_LAB_ADMIN_TOKEN"


def db_url(study_path: Path, db: str | None) -> str:
    """A SQLite path (default: the study file with ``.db``) or a database URL, as an SQLAlchemy URL."""
    if db and "://" in db:
        return db
    path = Path(db) if db else study_path.with_suffix(".db")
    return f"sqlite:///{path.resolve()}"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``export`` commands to ``app``."""

    @app.command("serve")
    def serve(
        study: Annotated[Path, typer.Argument(help="The study file (YAML).")],
        db: Annotated[str | None, typer.Option("--db", help="SQLite file or postgresql://… URL "
                                                "(default: STUDY.db).")] = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Refuse to start on an old schema "
                                                 "instead of upgrading it.")] = False,
        token_file: Annotated[Path | None, typer.Option(help="Write a new admin token here (mode 600) "
                                                        "instead of printing it.")] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
        sync: Annotated[str, typer.Option(help="SQLite durability: full (fsync every commit: survives power "
                                          "loss) or normal (survives a killed server, not power loss; "
                                          "faster).")] = "full",
    ) -> None:
        """Serve a study: annotators, experts and the admin dashboard, on one SQLite file or PostgreSQL.

        The admin token can be given in $OVERSIGHT_LAB_ADMIN_TOKEN; otherwise the first start creates one
        and prints the admin's invite link.
        """
        from oversight_lab.server.app import create_app
        from oversight_lab.server.db import SchemaError
        from oversight_lab.server.service import ServiceError
        from oversight_lab.server.study import StudyError, load_study

        try:
            st = load_study(study)
            application = create_app(st, db_url(study, db), run_migrations=not no_migrate,
                                     admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None, sync=sync)
        except (StudyError, SchemaError, ValueError) as e:
            _fail(str(e))
            return
        except ServiceError as e:
            _fail(e.message)
            return
        token = application.state.ctx.initial_admin_token
        base = f"http://{host}:{port}"
        if token and token_file:
            token_file.write_text(token + "\n")
            token_file.chmod(0o600)
            typer.echo(f"admin token written to {token_file}; sign in at {base}/join/<token>")
        elif token:
            typer.echo(f"admin: {base}/join/{token}  (shown once; only its hash is stored)")
        typer.echo(f"serving study {st.config.name!r} (sha256 {st.sha256[:12]}) at {base}", err=True)
        import uvicorn

        uvicorn.run(application, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5,
                    timeout_keep_alive=30)

    @app.command("export")
    def export(
        study: Annotated[Path, typer.Argument(help="The study file (YAML) the database was started with.")],
        out: Annotated[Path, typer.Argument(help="Output directory.")],
        db: Annotated[str | None, typer.Option("--db", help="SQLite file or database URL "
                                                "(default: STUDY.db).")] = None,
        no_dataset: Annotated[bool, typer.Option("--no-dataset",
                                                 help="Skip the Hugging Face dataset.")] = False,
    ) -> None:
        """Export a study's data: long-format CSV/Parquet, comparisons, TRL JSONL, HF dataset, study.yaml."""
        from sqlalchemy.exc import SQLAlchemyError

        from oversight_lab.server.db import Database, SchemaError, StudyRow
        from oversight_lab.server.export import export_study
        from oversight_lab.server.study import StudyError, load_study, parse_study

        url = db_url(study, db)
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            _fail(f"{url.removeprefix('sqlite:///')}: no such database")
        database = Database(url)
        try:
            database.check_schema()
            with database.read() as s:
                frozen = s.get(StudyRow, 1)
                if frozen is None:
                    _fail(f"{url}: no study in this database")
                    return
                st = parse_study(frozen.yaml_text, f"{url} (frozen study)",
                                 study.resolve().parent if study.exists() else Path.cwd())
                if study.exists() and load_study(study).sha256 != frozen.sha256:
                    typer.echo(f"warning: {study} differs from the study frozen in the database; exporting "
                               "with the frozen one", err=True)
                manifest = export_study(s, st, out, dataset=not no_dataset)
        except typer.Exit:
            raise
        except StudyError as e:
            _fail(str(e))
            return
        except (SchemaError, OSError, ValueError, SQLAlchemyError) as e:  # say what and where
            _fail(f"{url}: {e}")
            return
        typer.echo(f"exported {manifest['label_rows']} label rows, {manifest['comparisons']} comparisons "
                   f"({manifest['ties_skipped']} ties skipped) to {out}")


def main() -> None:
    app = typer.Typer(add_completion=False, no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":
    main()
