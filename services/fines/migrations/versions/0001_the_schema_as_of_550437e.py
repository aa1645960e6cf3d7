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

from kernel.database import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vehicle",
        sa.Column("plate", sa.String(length=20), nullable=False),
        sa.Column("owner_ref", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("plate"),
    )
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vehicle_owner_ref"), ["owner_ref"], unique=False)

    op.create_table(
        "fine",
        sa.Column("plate", sa.String(length=20), nullable=False),
        sa.Column("offence", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("source", sa.Enum("CAMERA", "PARKING_WARDEN", name="finesource"), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("UNPAID", "PAID", "OVERDUE", name="finestatus"), nullable=False),
        sa.Column("paid_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plate"],
            ["vehicle.plate"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fine_plate"), ["plate"], unique=False)

    op.create_table(
        "credit_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Enum("REPORT", "SETTLE", name="outboxaction"), nullable=False),
        sa.Column("fine_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fine_id"],
            ["fine.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("action", "fine_id", name="uq_credit_outbox_action_fine"),
    )
    with op.batch_alter_table("credit_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_outbox_delivered_at"), ["delivered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_outbox_fine_id"), ["fine_id"], unique=False)

    op.create_table(
        "payment",
        sa.Column("receipt_id", sa.String(length=64), nullable=False),
        sa.Column("fine_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", UtcDateTime(), nullable=False),
        sa.Column("payment_id", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payer_ref", sa.String(length=200), nullable=False),
        sa.Column("confirmation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fine_id"],
            ["fine.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fine_id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("payment_id"),
        sa.UniqueConstraint("receipt_id"),
    )


def downgrade() -> None:
    op.drop_table("payment")
    with op.batch_alter_table("credit_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_outbox_fine_id"))
        batch_op.drop_index(batch_op.f("ix_credit_outbox_delivered_at"))

    op.drop_table("credit_outbox")
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fine_plate"))

    op.drop_table("fine")
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicle_owner_ref"))

    op.drop_table("vehicle")
    # PostgreSQL keeps an enum's type when its table goes
    for enum in ("finesource", "finestatus", "outboxaction"):
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
