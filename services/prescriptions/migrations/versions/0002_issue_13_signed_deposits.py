"""Issue 13: the hospital signs what it deposits, and keeps the artefacts each deposit rests on

Revision ID: 0002
Revises: 0001

Three columns of ``prescription``, used in the rights regime only (a platform prescription keeps its
contents in the department's own database and leaves them empty, before this revision and after):

- ``contents_digest``: SHA-256 of the canonical payload the hospital signed and deposited in the
  patient's pod; the pharmacy dispenses only a document whose signed payload has this digest;
- ``keeping_basis_id`` and ``dispensing_consent_id``: the consent service's artefacts about this
  patient that the pod is asked to decide on (the hospital's duty to keep the record, her consent
  for the pharmacy to read it).

No data step: none of the three can be derived for a prescription issued before. Its document in
the pod was never signed, and which artefacts it rested on was not recorded here. Signing now would
mean vouching for whatever the pod holds today, which may not be what the doctor prescribed. So the
columns stay empty and such a prescription is treated as what it is, one the hospital cannot vouch
for: it is not dispensed (an unsigned document fails the pharmacy's check, 409
``prescription-altered``), and the prescriber issues it again, as for any prescription a pharmacy
cannot verify. Platform prescriptions are unaffected.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prescription") as batch_op:
        batch_op.add_column(sa.Column("keeping_basis_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("dispensing_consent_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("contents_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prescription") as batch_op:
        batch_op.drop_column("contents_digest")
        batch_op.drop_column("dispensing_consent_id")
        batch_op.drop_column("keeping_basis_id")
