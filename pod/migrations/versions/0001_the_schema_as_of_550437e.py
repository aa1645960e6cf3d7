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
        "pod",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "pod_resource",
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("parent", sa.String(length=1024), nullable=True),
        sa.Column("pod_id", sa.String(length=128), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("modified", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("path"),
    )
    with op.batch_alter_table("pod_resource", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pod_resource_parent"), ["parent"], unique=False)
        batch_op.create_index(batch_op.f("ix_pod_resource_pod_id"), ["pod_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pod_resource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pod_resource_pod_id"))
        batch_op.drop_index(batch_op.f("ix_pod_resource_parent"))

    op.drop_table("pod_resource")
    op.drop_table("pod")
