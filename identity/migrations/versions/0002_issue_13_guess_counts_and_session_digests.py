"""Issue 13: guesses are counted per account and per source; sessions are stored as digests

Revision ID: 0002
Revises: 0001

- ``guess_count`` replaces the citizen's ``failed_attempts`` and ``locked_until``
  (``identity/attempts.py``): every attempt at a secret is counted before it is checked, per account
  and factor and per source address. A lock in force stays in force: its account's password count is
  written at the limit, with the lock's end as the end of its window, so the account stays locked
  until the moment it would have been unlocked. Failed attempts short of a lock are not carried over
  (the old count had no window to carry them in): those accounts start a fresh window.
- ``browser_session.id`` holds the SHA-256 (hex) of the session id, no longer the id itself, so a copy
  of the database holds no live session. Sessions stored before are hashed here, so whoever is logged
  in stays logged in; an id that is already a digest is left as it is.

Downgrading drops the counts (every account unlocked) and leaves the digests: sessions from after this
revision end, and their citizens log in again.
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import op

from kernel.database import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# identity.attempts.ACCOUNT_LIMIT.attempts when this revision was written (a revision does not follow
# the code's later changes): an account whose count is at the limit is refused until its window ends
ACCOUNT_ATTEMPTS = 5
DIGEST = re.compile(r"[0-9a-f]{64}")


def upgrade() -> None:
    op.create_table(
        "guess_count",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_ends", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("guess_count") as batch_op:
        batch_op.create_index(batch_op.f("ix_guess_count_window_ends"), ["window_ends"], unique=False)
    op.execute(
        sa.text(
            "INSERT INTO guess_count (key, attempts, window_ends) "
            "SELECT 'password:' || id, :attempts, locked_until FROM citizen WHERE locked_until IS NOT NULL"
        ).bindparams(attempts=ACCOUNT_ATTEMPTS)
    )
    with op.batch_alter_table("citizen") as batch_op:
        batch_op.drop_column("failed_attempts")
        batch_op.drop_column("locked_until")
    _store_session_ids_as_digests()


def _store_session_ids_as_digests() -> None:
    connection = op.get_bind()
    sessions = sa.table("browser_session", sa.column("id", sa.String))
    for (session_id,) in connection.execute(sa.select(sessions.c.id)).all():
        if not DIGEST.fullmatch(session_id):
            digest = hashlib.sha256(session_id.encode()).hexdigest()
            connection.execute(sa.update(sessions).where(sessions.c.id == session_id).values(id=digest))


def downgrade() -> None:
    with op.batch_alter_table("citizen") as batch_op:
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("guess_count") as batch_op:
        batch_op.drop_index(batch_op.f("ix_guess_count_window_ends"))
    op.drop_table("guess_count")
