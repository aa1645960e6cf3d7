"""Issue 17: the worker's sweep finds the unpaid fines past their due date by an index

Revision ID: 0003
Revises: 0002

The sweep (``domain.mark_overdue_fines``) asked for every unpaid fine due before today, and SQLite and
PostgreSQL read every fine to answer: a cost that grew with every fine ever recorded, at every pass. An
index on ``(status, due_date)`` answers it from the fines that match. No row changes.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.create_index("ix_fine_status_due_date", ["status", "due_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.drop_index("ix_fine_status_due_date")
