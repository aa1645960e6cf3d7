"""Issue 17: the login attempts past their time are pruned by an index

Revision ID: 0004
Revises: 0003

Every login deletes the attempts older than their time to live (``relying_party.start_attempt``); without
an index on ``login_attempt.created_at`` that read every stored attempt, abandoned ones included. No row
changes.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempt_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempt_created_at"))
