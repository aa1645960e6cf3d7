"""Prescriptions issued at the hospital keep its reference

Revision ID: 0003
Revises: 0002

``prescription.reference``: the hospital's own reference (its order number in the doctor's system) for
a prescription a doctor issued at the hospital (``services.prescriptions.operator_routes``), unique, so
the same request sent again is the same prescription. Prescriptions issued before this revision (online
consultations, the demo's) keep none (NULL: a unique column holds any number of NULLs on SQLite and
PostgreSQL alike); nothing else changes. Downgrading drops the references.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_prescription_reference", ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_constraint("uq_prescription_reference", type_="unique")
        batch_op.drop_column("reference")
