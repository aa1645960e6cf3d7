"""Issue 13: artefacts may name the resources they cover; the public ledger publishes commitments

Revision ID: 0002
Revises: 0001

- ``consent_artefact.resources``: the resources (URLs) an artefact covers; empty, every resource of its
  categories. An artefact given before covered every resource of its categories, and that is what it
  keeps covering: ``[]``. Narrowing it cannot be derived (it never named a resource), and covering
  nothing would withdraw, unasked, consents and legal bases people rely on; the citizen narrows hers by
  withdrawing it and giving a narrower one.
- ``ledger_entry.clear`` and ``ledger_entry.salt``: a leaf is now a commitment to an event, and the
  event in clear with its salt stay private. A ledger written before holds events in clear as its
  leaves, already published and signed into tree heads that auditors keep. A transparency log cannot be
  rewritten, and its old leaves cannot be opened like new ones (they have no salt), so the citizen's
  access log could neither show nor prove them. This revision therefore refuses a ledger that holds
  entries, and says so: such a consent database is replaced by a fresh one (docs/consent.md), which is
  a decision for its operator, not for an upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.migrations import SchemaError

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    entries = op.get_bind().execute(sa.text("SELECT count(*) FROM ledger_entry")).scalar_one()
    if entries:
        raise SchemaError(
            f"consent: the ledger holds {entries} entries written before issue 13, whose public leaves are "
            "events in clear; a transparency log cannot be rewritten into commitments. Keep a copy of this "
            "database for its auditors and start the consent service on an empty one (docs/consent.md)."
        )
    with op.batch_alter_table("consent_artefact") as batch_op:
        batch_op.add_column(sa.Column("resources", sa.JSON(), nullable=True))
    op.execute("UPDATE consent_artefact SET resources = '[]'")
    with op.batch_alter_table("consent_artefact") as batch_op:
        batch_op.alter_column("resources", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("ledger_entry") as batch_op:
        batch_op.add_column(sa.Column("clear", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("salt", sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entry") as batch_op:
        batch_op.drop_column("salt")
        batch_op.drop_column("clear")
    with op.batch_alter_table("consent_artefact") as batch_op:
        batch_op.drop_column("resources")
