"""Alembic migrations of the qc store (env.py and versions/)."""
