"""The schema as of commit 550437e, the last before issue 13

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
        "delivery_order",
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("parcel_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("parcel_id"),
    )
    op.create_table(
        "prescription",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("patient", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Enum("ISSUED", "PAID", "DISPENSED", name="prescriptionstatus"), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispensed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pharmacy", sa.String(length=200), nullable=True),
        sa.Column("parcel_id", sa.String(length=40), nullable=True),
        sa.Column("contents_in", sa.Enum("DEPARTMENT", "POD", name="contentslocation"), nullable=False),
        sa.Column("pod_ref", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["parcel_id"],
            ["delivery_order.parcel_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("parcel_id"),
    )
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prescription_patient"), ["patient"], unique=False)

    op.create_table(
        "payment",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("prescription_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=200), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("confirmation", sa.Text(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescription.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("prescription_id"),
    )
    op.create_table(
        "prescription_content",
        sa.Column("prescription_id", sa.String(length=40), nullable=False),
        sa.Column("prescriber", sa.String(length=200), nullable=False),
        sa.Column("medication", sa.String(length=200), nullable=False),
        sa.Column("dose", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("diagnosis_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescription.id"],
        ),
        sa.PrimaryKeyConstraint("prescription_id"),
    )


def downgrade() -> None:
    op.drop_table("prescription_content")
    op.drop_table("payment")
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_patient"))

    op.drop_table("prescription")
    op.drop_table("delivery_order")
    # PostgreSQL keeps an enum's type when its table goes
    for enum in ("contentslocation", "prescriptionstatus"):
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
