"""Pairwise subject identifiers: stable within a sector, unjoinable across sectors, keyed by a private secret."""

from __future__ import annotations

import stat
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from identity.pairwise import Sector, load_or_create_secret, pairwise_subject
from kernel.resident_id import make_resident_id

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
CITIZEN = "11010519491231002X"


def _citizens(count: int) -> list[str]:
    """Distinct resident IDs: one birthday each, spread over the years."""
    return [make_resident_id("440106", date(1950, 1, 1) + timedelta(days=7 * n), n % 1000) for n in range(count)]


def test_the_sectors_are_the_named_ones():
    assert [str(sector) for sector in Sector] == [
        "transport",
        "civil-registry",
        "health",
        "platform",
        "consent",
        "personal-data",
    ]
    assert pairwise_subject(SECRET, Sector.HEALTH, CITIZEN) == pairwise_subject(SECRET, "health", CITIZEN)


def test_one_citizen_has_a_different_subject_in_each_sector():
    assert pairwise_subject(SECRET, Sector.TRANSPORT, CITIZEN) != pairwise_subject(SECRET, Sector.HEALTH, CITIZEN)


def test_two_clients_of_one_sector_see_the_same_subject():
    fines_client = pairwise_subject(SECRET, Sector.TRANSPORT, CITIZEN)
    parking_client = pairwise_subject(SECRET, Sector.TRANSPORT, CITIZEN)
    assert fines_client == parking_client


def test_a_thousand_citizens_in_every_sector_have_distinct_subjects():
    citizens = _citizens(1000)
    assert len(set(citizens)) == 1000
    subjects = {pairwise_subject(SECRET, sector, citizen) for citizen in citizens for sector in Sector}
    assert len(subjects) == 1000 * len(Sector)
    other = {pairwise_subject(OTHER_SECRET, sector, citizen) for citizen in citizens for sector in Sector}
    assert len(other) == 1000 * len(Sector)
    assert not subjects & other  # another provider's secret gives entirely different pseudonyms


def test_a_subject_is_unpadded_base64url_of_a_sha256_hmac_and_hides_the_citizen():
    subject = pairwise_subject(SECRET, Sector.CIVIL_REGISTRY, CITIZEN)
    assert len(subject) == 43  # 32 bytes, no padding
    assert set(subject) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    for citizen in [*_citizens(200), CITIZEN]:
        for sector in Sector:
            subject = pairwise_subject(SECRET, sector, citizen)
            assert citizen not in subject
            assert citizen[6:14] not in subject  # nor its birth date


def test_the_separator_keeps_sector_and_subject_apart():
    assert pairwise_subject(SECRET, "health", "x") != pairwise_subject(SECRET, "healt", "hx")
    with pytest.raises(ValueError, match="NUL"):
        pairwise_subject(SECRET, "health\0", "x")
    with pytest.raises(ValueError, match="NUL"):
        pairwise_subject(SECRET, "", "x")


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pairwise_subject(b"", Sector.HEALTH, CITIZEN)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pairwise_subject(b"x" * 15, Sector.HEALTH, CITIZEN)


def test_the_secret_file_is_private_and_stable(tmp_path: Path):
    path = tmp_path / "keys" / "pairwise-secret"
    secret = load_or_create_secret(path)
    assert len(secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == secret
    assert load_or_create_secret(path, nbytes=64) == secret  # an existing secret is never replaced
    assert path.read_bytes() == secret
    assert [p.name for p in path.parent.iterdir()] == ["pairwise-secret"]  # no temporary left behind
    assert load_or_create_secret(tmp_path / "other") != secret


def test_concurrent_first_starts_agree_on_one_secret(tmp_path: Path):
    path = tmp_path / "pairwise-secret"
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(load_or_create_secret(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len(set(results)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["pairwise-secret"]


def test_a_too_small_secret_is_neither_created_nor_accepted(tmp_path: Path):
    with pytest.raises(ValueError, match="at least 16 bytes"):
        load_or_create_secret(tmp_path / "s", nbytes=8)
    (tmp_path / "truncated").write_bytes(b"")
    with pytest.raises(ValueError, match="too few"):
        load_or_create_secret(tmp_path / "truncated")
