"""``citygate ledger`` as an auditor runs it, against the consent service of ``citygate up`` (the shared
deployment: the entry the test alters behind the service's back is put back as it was)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kernel.client import AccessTokenCache
from kernel.keys import load_or_create_signing_key
from kernel.personas import by_handle
from kernel.regime import Regime
from tests.fixtures.deployment import Deployment
from tests.fixtures.processes import CITYGATE

pytestmark = pytest.mark.processes


async def ask_for_consent(data_dir, identity_url: str, consent_url: str) -> None:
    """What the pharmacy does, with its own key from its data directory, over real HTTP."""
    key = load_or_create_signing_key(data_dir / "prescriptions" / "keys")
    async with httpx.AsyncClient(timeout=10) as http:
        tokens = AccessTokenCache(client_id="prescriptions", signing_key=key, identity_url=identity_url, http=http)
        subject = await http.post(
            f"{identity_url}/sector-subjects",
            json={"resident_id": by_handle("wang-fang").resident_id},
            headers={"Authorization": f"Bearer {await tokens.token_for('identity')}"},
        )
        subject.raise_for_status()
        for days in (10, 20, 30):
            created = await http.post(
                f"{consent_url}/consent-requests",
                headers={"Authorization": f"Bearer {await tokens.token_for('consent')}"},
                json={
                    "subject": subject.json()["subject"],
                    "purposes": ["dpv:ServiceProvision"],
                    "categories": ["pd:Prescription"],
                    "valid_until": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
                },
            )
            assert created.status_code == 201, created.text


def citygate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CITYGATE, *args], check=False, capture_output=True, text=True, timeout=60)


def test_an_auditor_saves_a_tree_head_verifies_the_log_and_catches_a_changed_entry(deployment: Deployment, tmp_path):
    url = {name: deployment.url(name, Regime.RIGHTS) for name in ("identity", "consent")}
    before = httpx.get(url["consent"] + "/ledger/tree-head").json()["tree_size"]
    asyncio.run(ask_for_consent(deployment.data_root / "rights", url["identity"], url["consent"]))

    saved = citygate("ledger", "tree-head", "--url", url["consent"])
    assert saved.returncode == 0, saved.stderr
    size = json.loads(saved.stdout)["tree_size"]
    assert size == before + 3
    (tmp_path / "head.json").write_text(saved.stdout)
    honest = citygate(
        "ledger", "verify", "--url", url["consent"], "--tree-head", str(tmp_path / "head.json"), "--quiet"
    )
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert f"OK: all {size} entries match the signed tree head" in honest.stdout

    # the operator edits one published entry (a commitment) behind the service's back
    altered = size - 2
    database = deployment.data_root / "rights" / "consent" / "consent.db"
    with sqlite3.connect(database) as connection:
        [(entry,)] = connection.execute('SELECT entry FROM ledger_entry WHERE "index" = ?', (altered,)).fetchall()
        connection.execute(
            'UPDATE ledger_entry SET entry = ? WHERE "index" = ?', (entry.replace(b'"v":2', b'"v":3'), altered)
        )
    try:
        tampered = citygate(
            "ledger", "verify", "--url", url["consent"], "--tree-head", str(tmp_path / "head.json"), "--quiet"
        )
        assert tampered.returncode == 1
        assert f"FAILED: entry {altered} does not match the signed tree head" in tampered.stdout
    finally:
        with sqlite3.connect(database) as connection:  # the log as it was, for the deployment's next tests
            connection.execute('UPDATE ledger_entry SET entry = ? WHERE "index" = ?', (entry, altered))
