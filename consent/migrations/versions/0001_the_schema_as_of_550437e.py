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

from kernel.database import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_artefact",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("citizen_key", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("controller", sa.String(length=40), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("processing", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.String(length=60), nullable=False),
        sa.Column("law_reference", sa.String(length=300), nullable=True),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_artefact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_artefact_citizen_key"), ["citizen_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_artefact_status"), ["status"], unique=False)

    op.create_table(
        "consent_subject_link",
        sa.Column("client", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("citizen_key", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("client", "subject"),
    )
    with op.batch_alter_table("consent_subject_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_subject_link_citizen_key"), ["citizen_key"], unique=False)

    op.create_table(
        "ledger_entry",
        sa.Column("index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("citizen_key", sa.String(), nullable=True),
        sa.Column("recipient", sa.String(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("index"),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entry_citizen_key"), ["citizen_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_recipient"), ["recipient"], unique=False)

    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_ledger_head_single_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("ledger_node")
    op.drop_table("ledger_head")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entry_recipient"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_citizen_key"))

    op.drop_table("ledger_entry")
    with op.batch_alter_table("consent_subject_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_subject_link_citizen_key"))

    op.drop_table("consent_subject_link")
    with op.batch_alter_table("consent_artefact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_artefact_status"))
        batch_op.drop_index(batch_op.f("ix_consent_artefact_citizen_key"))

    op.drop_table("consent_artefact")
