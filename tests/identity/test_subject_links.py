"""The consent ledger learns its own subject for the citizen another sector knows by a given subject:
one indexed lookup, filled at enrolment and completed at start-up; nobody else may ask."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, func, select

from identity import policy
from identity.enrolment import enrol_citizen
from identity.models import Citizen, SectorSubject
from identity.pairwise import Sector
from identity.subject_index import backfill
from kernel.personas import PERSONAS, by_handle
from kernel.regime import Regime
from tests.fixtures.logins import app_login
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import RelyingParty, tokens_for
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import mint

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("identity")]

CAR_OWNER = by_handle("li-wei")


async def link(mesh: Mesh, body: dict, *, caller: str = "consent", scope: str = "identity:subject-link"):
    token = mint(mesh, client=caller, scope=scope, audience="urn:citygate:identity")
    async with mesh.client("identity") as identity:
        return await identity.post("/sector-subjects/links", json=body, headers={"Authorization": f"Bearer {token}"})


def subject_of(mesh: Mesh, client: str, handle: str = CAR_OWNER.handle) -> str:
    identity = mesh.apps["identity"]
    with identity.state.service.database.session() as session:
        citizen = session.exec(select(Citizen).where(Citizen.handle == handle)).one()
    return identity.state.service.policy.subject_for(citizen, client)


def index_rows(mesh: Mesh) -> int:
    with mesh.apps["identity"].state.service.database.session() as session:
        return session.exec(select(func.count()).select_from(SectorSubject)).one()


async def test_consent_links_a_departments_subject_to_its_own(mesh):
    _, fines_login = await tokens_for(RelyingParty(mesh, "fines"))
    answer = await link(mesh, {"client": "fines", "subject": fines_login["sub"]})
    assert answer.status_code == 200, answer.text
    own = answer.json()["subject"]
    assert own == (await app_login(mesh)).subject, "the subject the citizen's app acts under at the ledger"
    if mesh.regime is Regime.PLATFORM:
        assert own == fines_login["sub"] == CAR_OWNER.resident_id
    else:
        assert own not in {fines_login["sub"], CAR_OWNER.resident_id}
    for client in ("gateway", "appointments", "prescriptions", "consent", "pod"):
        again = await link(mesh, {"client": client, "subject": subject_of(mesh, client)})
        assert again.json() == {"subject": own}, client
    other = await link(mesh, {"client": "fines", "subject": subject_of(mesh, "fines", "wang-fang")})
    assert other.json()["subject"] == subject_of(mesh, "consent", "wang-fang") != own


async def test_only_the_consent_service_may_link(mesh):
    body = {"client": "fines", "subject": subject_of(mesh, "fines")}
    for caller in ("fines", "appointments", "prescriptions", "gateway"):
        assert_problem(await link(mesh, body, caller=caller), 403, "forbidden-caller")
    assert_problem(await link(mesh, body, scope="identity:sector-subject"), 403, "forbidden-caller")
    async with mesh.client("identity") as identity:
        assert_problem(await identity.post("/sector-subjects/links", json=body), 401, "unauthenticated")


async def test_an_unknown_subject_is_404_and_an_unknown_client_422(mesh):
    assert_problem(await link(mesh, {"client": "fines", "subject": "no-such-subject"}), 404, "subject-not-found")
    if mesh.regime is Regime.RIGHTS:  # a subject is only a subject in its own sector
        misplaced = {"client": "appointments", "subject": subject_of(mesh, "fines")}
        assert_problem(await link(mesh, misplaced), 404, "subject-not-found")
    for client in ("credit", "nobody", "citizen-app", ""):
        assert_problem(
            await link(mesh, {"client": client, "subject": subject_of(mesh, "fines")}), 422, "unknown-client"
        )
    assert_problem(await link(mesh, {"subject": "x"}), 422, "invalid-request")
    assert_problem(await link(mesh, {"client": "fines", "subject": ""}), 422, "invalid-request")


async def test_a_link_is_one_lookup_not_a_scan(mesh, monkeypatch):
    subject = subject_of(mesh, "fines", "liu-yang")
    calls = []
    real = policy.pairwise_subject

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(policy, "pairwise_subject", counted)
    assert (await link(mesh, {"client": "fines", "subject": subject})).status_code == 200
    # the row's check and the caller's own subject: two HMACs, never one per citizen
    assert len(calls) == (2 if mesh.regime is Regime.RIGHTS else 0)


async def test_enrolment_indexes_every_sector(mesh):
    assert index_rows(mesh) == len(PERSONAS) * len(Sector)
    identity = mesh.apps["identity"]
    with identity.state.service.database.session() as session:
        enrol_citizen(
            session,
            policy=identity.state.service.policy,
            handle="new-citizen",
            resident_id="11010519491231002X",
            name="测试 (Ce Shi)",
            phone="+8613800000000",
            address="1 Test Road, Guangzhou",
            password="pw",
            totp_secret=b"s" * 20,
        )
        session.commit()
    assert index_rows(mesh) == (len(PERSONAS) + 1) * len(Sector)
    answer = await link(mesh, {"client": "prescriptions", "subject": subject_of(mesh, "prescriptions", "new-citizen")})
    assert answer.json() == {"subject": subject_of(mesh, "consent", "new-citizen")}


async def test_the_index_is_completed_and_corrected_at_start_up(mesh, database_urls, tmp_path):
    identity = mesh.apps["identity"]
    profile = identity.state.service.policy
    body = {"client": "fines", "subject": subject_of(mesh, "fines")}
    expected = (await link(mesh, body)).json()

    # citizens enrolled before the index existed
    with identity.state.service.database.session() as session:
        session.exec(delete(SectorSubject))
        session.commit()
    assert_problem(await link(mesh, body), 404, "subject-not-found")
    async with Mesh(mesh.regime, tmp_path, database_urls, demo=False) as restarted:
        assert (await link(restarted, body)).json() == expected
    assert index_rows(mesh) == len(PERSONAS) * len(Sector)

    # idempotent; a sector added since gets its rows; rows derived another way are replaced
    assert backfill(identity.state.service.database, profile) == 0
    with identity.state.service.database.session() as session:
        session.exec(delete(SectorSubject).where(col(SectorSubject.sector) == Sector.TRANSPORT.value))
        session.commit()
    assert backfill(identity.state.service.database, profile) == len(PERSONAS)
    with identity.state.service.database.session() as session:
        session.exec(
            update(SectorSubject)
            .where(col(SectorSubject.sector) == Sector.HEALTH.value)
            .values(scheme="pairwise:an-old-secret", subject=SectorSubject.subject + "-old")
        )
        session.commit()
    assert backfill(identity.state.service.database, profile) == len(PERSONAS)
    assert index_rows(mesh) == len(PERSONAS) * len(Sector)
    assert (await link(mesh, body)).json() == expected
    health = {"client": "prescriptions", "subject": subject_of(mesh, "prescriptions")}
    assert (await link(mesh, health)).json() == expected
