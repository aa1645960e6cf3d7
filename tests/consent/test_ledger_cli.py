"""``citygate ledger`` as an auditor runs it, against a consent service started by ``citygate up``."""

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
from tests.fixtures.processes import CITYGATE, base_port, citygate_up

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


def test_an_auditor_saves_a_tree_head_verifies_the_log_and_catches_a_changed_entry(tmp_path):
    with citygate_up(tmp_path, "--regime", "rights") as (process, _, _children):
        base = int(base_port(process))
        url = {name: f"http://127.0.0.1:{base + 100 + offset}" for name, offset in (("identity", 1), ("consent", 2))}
        asyncio.run(ask_for_consent(tmp_path / "var" / "rights", url["identity"], url["consent"]))

        saved = citygate("ledger", "tree-head", "--url", url["consent"])
        assert saved.returncode == 0, saved.stderr
        assert json.loads(saved.stdout)["tree_size"] == 3
        (tmp_path / "head.json").write_text(saved.stdout)
        honest = citygate(
            "ledger", "verify", "--url", url["consent"], "--tree-head", str(tmp_path / "head.json"), "--quiet"
        )
        assert honest.returncode == 0, honest.stdout + honest.stderr
        assert "OK: all 3 entries match the signed tree head" in honest.stdout

        # the operator edits one published entry (a commitment) behind the service's back
        database = tmp_path / "var" / "rights" / "consent" / "consent.db"
        with sqlite3.connect(database) as connection:
            connection.execute(
                "UPDATE ledger_entry SET entry = CAST(replace(CAST(entry AS TEXT), "
                '\'"v":2\', \'"v":3\') AS BLOB) WHERE "index" = 1'
            )
        tampered = citygate(
            "ledger", "verify", "--url", url["consent"], "--tree-head", str(tmp_path / "head.json"), "--quiet"
        )
        assert tampered.returncode == 1
        assert "FAILED: entry 1 does not match the signed tree head" in tampered.stdout
