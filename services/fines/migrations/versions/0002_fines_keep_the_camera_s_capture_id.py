"""Fines keep the camera's capture id

Revision ID: 0002
Revises: 0001

``fine.reference``: the capture id a camera (or the ticket number a parking warden) records a fine
under, unique, so the same capture uploaded again is the same fine (``services.fines.operator_routes``).
Fines recorded before this revision keep none (NULL: a unique column holds any number of NULLs on
SQLite and PostgreSQL alike); nothing else changes. Downgrading drops the references.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_fine_reference", ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.drop_constraint("uq_fine_reference", type_="unique")
        batch_op.drop_column("reference")
