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
        "citizen",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("real_name_verified", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("totp_secret", sa.String(length=128), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_handle"), ["handle"], unique=True)
        batch_op.create_index(batch_op.f("ix_citizen_phone"), ["phone"], unique=True)
        batch_op.create_index(batch_op.f("ix_citizen_resident_id"), ["resident_id"], unique=True)

    op.create_table(
        "issued_access_token",
        sa.Column("jti", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("issued_access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_access_token_client_id"), ["client_id"], unique=False)

    op.create_table(
        "used_client_assertion",
        sa.Column("client_jti", sa.String(length=300), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_jti"),
    )
    with op.batch_alter_table("used_client_assertion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_client_assertion_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "authorization_code",
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("nonce", sa.String(length=300), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=100), nullable=False),
        sa.Column("amr", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resource", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorization_code_client_id"), ["client_id"], unique=False)

    op.create_table(
        "browser_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=100), nullable=False),
        sa.Column("amr", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_browser_session_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "sector_subject",
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("scheme", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.PrimaryKeyConstraint("sector", "subject"),
        sa.UniqueConstraint("sector", "citizen_id"),
    )
    with op.batch_alter_table("sector_subject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sector_subject_citizen_id"), ["citizen_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sector_subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sector_subject_citizen_id"))

    op.drop_table("sector_subject")
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_session_citizen_id"))

    op.drop_table("browser_session")
    with op.batch_alter_table("authorization_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorization_code_client_id"))

    op.drop_table("authorization_code")
    with op.batch_alter_table("used_client_assertion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_client_assertion_expires_at"))

    op.drop_table("used_client_assertion")
    with op.batch_alter_table("issued_access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_access_token_client_id"))

    op.drop_table("issued_access_token")
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_resident_id"))
        batch_op.drop_index(batch_op.f("ix_citizen_phone"))
        batch_op.drop_index(batch_op.f("ix_citizen_handle"))

    op.drop_table("citizen")
