"""Alembic's environment shared by every service's history: ``env.py`` and the revision template
(kernel/migrations.py points Alembic here; the revisions themselves live in each service package)."""
