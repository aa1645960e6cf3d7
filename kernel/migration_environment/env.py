"""Run by Alembic for every command on a service's history (kernel/migrations.py sets it up)."""

from kernel.migrations import run_environment

run_environment()
