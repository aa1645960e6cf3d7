"""Issue 17: a citizen's bookings are read by an index

Revision ID: 0002
Revises: 0001

"The bookings I take part in" asks for ``subject = ? OR partner_subject = ?``. Only open bookings had an
index by subject (the partial unique index that keeps one open booking per type), so SQLite and
PostgreSQL read every booking ever made to answer. ``ix_booking_subject`` indexes them all. No row changes.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_subject"))
