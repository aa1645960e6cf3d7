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
        "citizen_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("claims", sa.String(length=4000), nullable=False),
        sa.Column("acr", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("citizen_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_session_subject"), ["subject"], unique=False)

    op.create_table(
        "hosted_id_card",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("identity_access_token", sa.String(length=4000), nullable=True),
        sa.Column("token_expires_at", UtcDateTime(), nullable=True),
        sa.Column("holder_key", sa.String(length=1000), nullable=True),
        sa.Column("credential", sa.String(length=20000), nullable=True),
        sa.Column("card_expires_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "journey_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("journey", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=80), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journey_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journey_event_subject"), ["subject"], unique=False)

    op.create_table(
        "login_attempt",
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_table(
        "user_agreement_acceptance",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("accepted_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "wallet",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("balance_cents", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("balance_cents >= 0", name="ck_wallet_balance_not_negative"),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "wallet_payment",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payee", sa.String(length=50), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Enum("PENDING", "COMPLETED", "CANCELLED", name="paymentstatus"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("department_receipt", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject"],
            ["wallet.subject"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "idempotency_key", name="uq_wallet_payment_subject_key"),
    )
    with op.batch_alter_table("wallet_payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_payment_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallet_payment_subject"), ["subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallet_payment_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wallet_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_payment_updated_at"))
        batch_op.drop_index(batch_op.f("ix_wallet_payment_subject"))
        batch_op.drop_index(batch_op.f("ix_wallet_payment_status"))

    op.drop_table("wallet_payment")
    op.drop_table("wallet")
    op.drop_table("user_agreement_acceptance")
    op.drop_table("login_attempt")
    with op.batch_alter_table("journey_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_event_subject"))

    op.drop_table("journey_event")
    op.drop_table("hosted_id_card")
    with op.batch_alter_table("citizen_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_session_subject"))

    op.drop_table("citizen_session")
    # PostgreSQL keeps an enum's type when its table goes
    sa.Enum(name="paymentstatus").drop(op.get_bind(), checkfirst=True)
