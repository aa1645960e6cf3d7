"""Issue 17: a citizen's journey history is read a page at a time

Revision ID: 0003
Revises: 0002

``/me/history`` answers a bounded page (``?after=<id>&limit=``): the index on ``journey_event.subject``
becomes one on ``(subject, id)``, so a page is one range of the index, in order, however long the
history. No row changes.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journey_event", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_event_subject")
        batch_op.create_index("ix_journey_event_subject_id", ["subject", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("journey_event", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_event_subject_id")
        batch_op.create_index("ix_journey_event_subject", ["subject"], unique=False)
