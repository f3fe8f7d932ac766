"""Alembic migrations of the study database (shipped in the package so installs can upgrade)."""
