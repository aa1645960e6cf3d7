"""The schema as of commit 550437e, the last before issue 13 (unchanged by it)

Revision ID: 0001
Revises: -

Every service's history starts at its schema as ``create_all`` built it at 550437e: a database an
older citygate built without versions has the tables of this revision or of a later one, and is
recorded as at that revision when first met (kernel/migrations.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_record",
        sa.Column("subject", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.Enum("OVERDUE_FINE", "UNPAID_COURT_JUDGMENT", name="recordkind"), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "reference", name="uq_credit_record_source_reference"),
    )
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_record_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_record_subject"))

    op.drop_table("credit_record")
    # PostgreSQL keeps an enum's type when its table goes
    sa.Enum(name="recordkind").drop(op.get_bind(), checkfirst=True)
