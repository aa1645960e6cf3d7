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
        "marriage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spouse_a", sa.String(length=200), nullable=False),
        sa.Column("spouse_b", sa.String(length=200), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("dissolved_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("spouse_a", "spouse_b", name="uq_marriage_spouses"),
    )
    with op.batch_alter_table("marriage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marriage_spouse_a"), ["spouse_a"], unique=False)
        batch_op.create_index(batch_op.f("ix_marriage_spouse_b"), ["spouse_b"], unique=False)

    op.create_table(
        "office",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("id", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "slot",
        sa.Column("office_id", sa.String(length=50), nullable=False),
        sa.Column(
            "type",
            sa.Enum("marriage", "divorce", "certificate-copy", name="appointmenttype", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_booked_within_capacity"),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "type", "starts_at", name="uq_slot_office_type_start"),
    )
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slot_office_id"), ["office_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slot_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "booking",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum("marriage", "divorce", "certificate-copy", name="appointmenttype", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("partner_subject", sa.String(length=200), nullable=True),
        sa.Column("marriage_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "confirmed", "lapsed", "cancelled", name="bookingstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partner_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invitation_code_hash", sa.String(length=64), nullable=True),
        sa.Column("failed_code_attempts", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["marriage_id"],
            ["marriage.id"],
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slot.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_partner_subject"), ["partner_subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index("ix_booking_status_confirm_by", ["status", "confirm_by"], unique=False)
        batch_op.create_index(
            "uq_booking_open_per_marriage",
            ["marriage_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'confirmed')"),
            postgresql_where=sa.text("status IN ('pending', 'confirmed')"),
        )
        batch_op.create_index(
            "uq_booking_open_per_subject_type",
            ["subject", "type"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'confirmed')"),
            postgresql_where=sa.text("status IN ('pending', 'confirmed')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_booking_open_per_subject_type",
            sqlite_where=sa.text("status IN ('pending', 'confirmed')"),
            postgresql_where=sa.text("status IN ('pending', 'confirmed')"),
        )
        batch_op.drop_index(
            "uq_booking_open_per_marriage",
            sqlite_where=sa.text("status IN ('pending', 'confirmed')"),
            postgresql_where=sa.text("status IN ('pending', 'confirmed')"),
        )
        batch_op.drop_index("ix_booking_status_confirm_by")
        batch_op.drop_index(batch_op.f("ix_booking_slot_id"))
        batch_op.drop_index(batch_op.f("ix_booking_partner_subject"))

    op.drop_table("booking")
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_starts_at"))
        batch_op.drop_index(batch_op.f("ix_slot_office_id"))

    op.drop_table("slot")
    op.drop_table("office")
    with op.batch_alter_table("marriage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marriage_spouse_b"))
        batch_op.drop_index(batch_op.f("ix_marriage_spouse_a"))

    op.drop_table("marriage")
