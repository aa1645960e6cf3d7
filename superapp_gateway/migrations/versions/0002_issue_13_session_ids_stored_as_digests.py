"""Issue 13: citizens' sessions are stored as digests of their ids

Revision ID: 0002
Revises: 0001

``citizen_session.id`` holds the SHA-256 (hex) of the session id, no longer the id itself, so a copy of
the database holds no live session (kernel/browser_sessions.py). The schema is unchanged; sessions
stored before are hashed here, so whoever is logged in stays logged in. An id that is already a digest
is left as it is. (A database from before migrations has the tables of this revision and of 0001
alike: it is recorded as at this one, and sessions it holds from before issue 13 simply end.)

Downgrading leaves the digests: those sessions end, and their citizens log in again.
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DIGEST = re.compile(r"[0-9a-f]{64}")


def upgrade() -> None:
    connection = op.get_bind()
    sessions = sa.table("citizen_session", sa.column("id", sa.String))
    for (session_id,) in connection.execute(sa.select(sessions.c.id)).all():
        if not DIGEST.fullmatch(session_id):
            digest = hashlib.sha256(session_id.encode()).hexdigest()
            connection.execute(sa.update(sessions).where(sessions.c.id == session_id).values(id=digest))


def downgrade() -> None:
    pass
