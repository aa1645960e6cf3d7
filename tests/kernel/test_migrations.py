"""Migrations (kernel/migrations.py): each service's history upgrades a database written at its first
revision without losing a row, on SQLite and PostgreSQL; a service starts on whatever it finds (empty,
versioned, or built by an older citygate without versions) or refuses with a reason; the CI check
fails when models and migrations disagree."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, MetaData, String, Table, column, insert, inspect, select, table, text
from sqlmodel import Session

from kernel import migrations, topology
from kernel.database import Database, UtcDateTime
from kernel.migrations import History, SchemaError, declared_metadata
from tests.fixtures.databases import postgres_databases
from tests.fixtures.files import assert_private_tree
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.narrowing import present
from workshop.cli import main

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
RAW_SESSION_ID = "Zm9yLXRoZS10ZXN0LW9ubHktbm90LWEtcmVhbC1zZXNzaW9u"[:43]  # what token_urlsafe(32) gives: 43 chars

# every test that opens a database does so on SQLite and on PostgreSQL
pytestmark = [BOTH_BACKENDS]


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'service.db'}"
        return
    with postgres_databases("service") as urls:
        yield urls["service"]


@pytest.fixture
def open_database(database_url: str) -> Iterator[Callable[[str], Database]]:
    """The service's database at ``database_url``, on its declared tables."""
    opened: list[Database] = []

    def open_(service: str) -> Database:
        opened.append(Database(database_url, declared_metadata(topology.service(service))))
        return opened[-1]

    yield open_
    for database in opened:
        database.dispose()


def history(service: str) -> History:
    return History.of(topology.service(service))


def tables_of(connection: Connection) -> MetaData:
    """The tables as they are in the database (not as today's models declare them)."""
    reflected = MetaData()
    reflected.reflect(connection)
    return reflected


def as_utc(value: datetime | None) -> datetime | None:
    """The service's plain DateTime columns read back naive on SQLite (UtcDateTime ones do not)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def version_table_rows(database: Database, service: str) -> list[str]:
    with database.engine.connect() as connection:
        versions = table(f"alembic_version_{service}", column("version_num"))
        return list(connection.execute(select(versions.c.version_num)).scalars())


# ---- rows written at the first revision, read at head ---------------------------------------------------


def fill_prescriptions(connection: Connection) -> None:
    tables = tables_of(connection).tables
    connection.execute(insert(tables["delivery_order"]).values(parcel_id="SF100", address="Liwan, Guangzhou"))
    prescription = {
        "patient": "patient-1",
        "amount_cents": 1250,
        "currency": "CNY",
        "issued_at": NOW,
        "paid_at": None,
        "dispensed_at": None,
        "pharmacy": None,
        "parcel_id": None,
        "pod_ref": None,
    }
    connection.execute(
        insert(tables["prescription"]),
        [
            {**prescription, "id": "rx-platform", "status": "DISPENSED", "contents_in": "DEPARTMENT",
             "paid_at": NOW, "dispensed_at": NOW, "pharmacy": "Liwan Dashenlin Pharmacy", "parcel_id": "SF100"},
            {**prescription, "id": "rx-pod", "status": "ISSUED", "contents_in": "POD",
             "pod_ref": "http://pod.example/pods/p1/prescriptions/rx-pod"},
        ],
    )  # fmt: skip
    connection.execute(
        insert(tables["prescription_content"]).values(
            prescription_id="rx-platform",
            prescriber="Dr. Huang Lei",
            medication="Metformin hydrochloride",
            dose="500 mg twice daily",
            quantity=60,
            diagnosis_code="E11.9",
        )
    )
    connection.execute(
        insert(tables["payment"]).values(
            id="pay-1",
            prescription_id="rx-platform",
            idempotency_key="key-1",
            fingerprint="f" * 64,
            payment_id="wallet-1",
            payer="patient-1",
            amount_cents=1250,
            currency="CNY",
            confirmation="header.payload.signature",
            paid_at=NOW,
        )
    )


def check_prescriptions(database: Database) -> None:
    from services.prescriptions.models import ContentsLocation, Payment, Prescription, PrescriptionContent

    with Session(database.engine) as session:
        platform, pod = session.get(Prescription, "rx-platform"), session.get(Prescription, "rx-pod")
        assert platform is not None and pod is not None
        assert (platform.contents_in, platform.pharmacy, platform.parcel_id) == (
            ContentsLocation.DEPARTMENT,
            "Liwan Dashenlin Pharmacy",
            "SF100",
        )
        assert as_utc(platform.issued_at) == NOW and as_utc(platform.dispensed_at) == NOW
        assert pod.pod_ref == "http://pod.example/pods/p1/prescriptions/rx-pod"
        # nothing to derive them from (the revision says why): a prescription the hospital cannot vouch for
        assert (pod.contents_digest, pod.keeping_basis_id, pod.dispensing_consent_id) == (None, None, None)
        content = session.get(PrescriptionContent, "rx-platform")
        assert content is not None and (content.medication, content.quantity) == ("Metformin hydrochloride", 60)
        payment = session.get(Payment, "pay-1")
        assert payment is not None and (payment.amount_cents, as_utc(payment.paid_at)) == (1250, NOW)


def fill_identity(connection: Connection) -> None:
    tables = tables_of(connection).tables
    citizen = {
        "name": "Li Ming",
        "birth_date": date(1990, 8, 23),
        "address": "Guangzhou",
        "real_name_verified": True,
        "password_hash": "scrypt$…",
        "totp_secret": "ab" * 20,
        "totp_last_step": None,
        "failed_attempts": 0,
        "locked_until": None,
    }
    connection.execute(
        insert(tables["citizen"]),
        [
            {**citizen, "id": "c-locked", "handle": "locked", "resident_id": "440104199008232150", "phone": "1",
             "failed_attempts": 5, "locked_until": NOW + timedelta(minutes=3)},
            {**citizen, "id": "c-typo", "handle": "typo", "resident_id": "440104199008232169", "phone": "2",
             "failed_attempts": 2},
        ],
    )  # fmt: skip
    connection.execute(
        insert(tables["browser_session"]).values(
            id=RAW_SESSION_ID,
            citizen_id="c-typo",
            csrf_token="csrf",
            auth_time=NOW,
            acr="eidas:substantial",
            amr="pwd otp",
            expires_at=NOW + timedelta(hours=8),
        )
    )


def check_identity(database: Database) -> None:
    from identity.attempts import ACCOUNT_LIMIT, count_attempt, password_key
    from identity.models import BrowserSession, Citizen

    with Session(database.engine) as session:
        typo = session.get(Citizen, "c-typo")
        assert typo is not None and (typo.handle, typo.birth_date, typo.totp_secret) == (
            "typo",
            date(1990, 8, 23),
            "ab" * 20,
        )
        # the session survives, stored as the digest the provider now looks it up by
        logged_in = session.get(BrowserSession, hashlib.sha256(RAW_SESSION_ID.encode()).hexdigest())
        assert logged_in is not None and logged_in.citizen_id == "c-typo"
        assert session.get(BrowserSession, RAW_SESSION_ID) is None
        # the lock in force stays in force until it would have ended; short of a lock, a fresh window
        assert count_attempt(session, password_key("c-locked"), ACCOUNT_LIMIT, NOW) == timedelta(minutes=3)
        assert count_attempt(session, password_key("c-locked"), ACCOUNT_LIMIT, NOW + timedelta(minutes=3)) is None
        assert count_attempt(session, password_key("c-typo"), ACCOUNT_LIMIT, NOW) is None


def fill_consent(connection: Connection) -> None:
    tables = tables_of(connection).tables
    connection.execute(
        insert(tables["consent_artefact"]).values(
            id="art-1",
            citizen_key="citizen-1",
            subject="health-subject-1",
            controller="prescriptions",
            recipients=["prescriptions"],
            purposes=["dpv:ServiceProvision"],
            categories=["pd:Prescription"],
            processing=["dpv:Use"],
            legal_basis="dpv:Consent",
            law_reference=None,
            notice="The pharmacy reads your prescription to dispense it.",
            mode="explicit",
            status="given",
            created_at=NOW,
            valid_until=NOW + timedelta(days=90),
            version=1,
            events=[{"event": "given", "at": NOW.isoformat()}],
            receipt="header.payload.signature",
        )
    )
    connection.execute(
        insert(tables["consent_subject_link"]).values(client="prescriptions", subject="s", citizen_key="k")
    )


def check_consent(database: Database) -> None:
    with database.engine.connect() as connection:
        artefact = connection.execute(text("SELECT * FROM consent_artefact")).mappings().one()
    assert artefact["id"] == "art-1" and artefact["status"] == "given"
    # given before artefacts named resources: it keeps covering every resource of its categories
    assert artefact["resources"] in ([], "[]")
    assert artefact["categories"] in (["pd:Prescription"], '["pd:Prescription"]')


def fill_gateway(connection: Connection) -> None:
    tables = tables_of(connection).tables
    connection.execute(
        insert(tables["citizen_session"]).values(
            id=RAW_SESSION_ID,
            subject="sub-1",
            claims="{}",
            acr="eidas:substantial",
            expires_at=NOW + timedelta(hours=1),
        )
    )
    connection.execute(insert(tables["wallet"]).values(subject="sub-1", balance_cents=10_000, updated_at=NOW))


def check_gateway(database: Database) -> None:
    with database.engine.connect() as connection:
        sessions = connection.execute(text("SELECT id, subject FROM citizen_session")).all()
        wallets = connection.execute(text("SELECT subject, balance_cents FROM wallet")).all()
    assert [tuple(row) for row in sessions] == [(hashlib.sha256(RAW_SESSION_ID.encode()).hexdigest(), "sub-1")]
    assert [tuple(row) for row in wallets] == [("sub-1", 10_000)]


UPGRADES: dict[str, tuple[Callable[[Connection], None], Callable[[Database], None]]] = {
    "prescriptions": (fill_prescriptions, check_prescriptions),
    "identity": (fill_identity, check_identity),
    "consent": (fill_consent, check_consent),
    "gateway": (fill_gateway, check_gateway),
}


@pytest.mark.parametrize("service", list(UPGRADES))
def test_rows_written_at_the_first_revision_are_intact_at_head(service, open_database):
    fill, check = UPGRADES[service]
    database = open_database(service)
    first = history(service).revisions()[0]
    migrations.upgrade(database, history(service), first)
    with database.engine.begin() as connection:
        fill(connection)

    assert migrations.migrate(database) == first
    assert version_table_rows(database, service) == [history(service).head()]
    check(database)


def test_a_ledger_from_before_issue_13_is_refused_and_left_as_it_was(open_database):
    database = open_database("consent")
    migrations.upgrade(database, history("consent"), "0001")
    with database.engine.begin() as connection:
        fill_consent(connection)
        entries = tables_of(connection).tables["ledger_entry"]
        connection.execute(insert(entries).values(index=0, entry=b'{"v":1}', citizen_key="citizen-1", recorded_at=NOW))

    with pytest.raises(SchemaError, match="cannot be rewritten"):
        migrations.migrate(database)
    # refused before anything was changed
    assert version_table_rows(database, "consent") == ["0001"]
    with database.engine.connect() as connection:
        assert "resources" not in {column["name"] for column in inspect(connection).get_columns("consent_artefact")}
        assert connection.execute(text("SELECT count(*) FROM consent_artefact")).scalar_one() == 1


# ---- start-up ----------------------------------------------------------------------------------------------


async def test_a_service_starting_on_an_empty_database_brings_it_to_head(database_url, tmp_path):
    from services.prescriptions.app import create_app
    from services.prescriptions.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "prescriptions", database_url=database_url))
    async with app.router.lifespan_context(app):
        pass
    database = Database(database_url, declared_metadata(topology.service("prescriptions")))
    try:
        assert migrations.current_revision(database, history("prescriptions")) == history("prescriptions").head()
        with database.engine.connect() as connection:
            assert {"prescription", "alembic_version_prescriptions"} <= set(inspect(connection).get_table_names())
    finally:
        database.dispose()


def test_a_database_an_older_citygate_created_with_today_s_tables_is_recorded_as_at_head(open_database):
    database = open_database("fines")
    database.create_tables()  # what every citygate did at start before migrations
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO vehicle (plate, owner_ref) VALUES ('粤A12345', 'owner-1')"))

    head = history("fines").head()
    assert migrations.migrate(database) == head
    assert version_table_rows(database, "fines") == [head]
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT owner_ref FROM vehicle")).scalar_one() == "owner-1"


def test_a_database_an_older_citygate_created_before_issue_13_is_recorded_at_its_revision_and_upgraded(
    open_database,
):
    database = open_database("identity")
    # the tables as create_all built them at 550437e: revision 0001's, without a version table
    migrations.upgrade(database, history("identity"), "0001")
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version_identity"))
        fill_identity(connection)

    assert migrations.migrate(database) == "0001"
    assert version_table_rows(database, "identity") == ["0002"]
    check_identity(database)


def test_an_unversioned_database_that_matches_no_revision_is_refused_and_left_alone(open_database):
    database = open_database("fines")
    database.create_tables()
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE vehicle ADD COLUMN colour VARCHAR(20)"))  # changed by hand

    with pytest.raises(SchemaError, match=r"match no revision.*citygate migrate --service fines --stamp"):
        migrations.migrate(database)
    with database.engine.connect() as connection:
        assert "alembic_version_fines" not in inspect(connection).get_table_names()


def test_tables_no_service_declares_are_created_as_declared_without_versions(tmp_path):
    probe = MetaData()
    Table("probe", probe, Column("id", String(10), primary_key=True))
    database = Database(f"sqlite:///{tmp_path / 'probe.db'}", probe)
    try:
        assert migrations.migrate(database) is None
        with database.engine.connect() as connection:
            assert inspect(connection).get_table_names() == ["probe"]
    finally:
        database.dispose()


def test_every_history_goes_down_to_nothing_and_up_again(backend, tmp_path):
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            urls = {spec.name: f"sqlite:///{tmp_path / f'{spec.name}.db'}" for spec in topology.SERVICES}
        else:
            urls = stack.enter_context(postgres_databases(*(spec.name for spec in topology.SERVICES)))
        for spec in topology.SERVICES:
            database = Database(urls[spec.name], declared_metadata(spec))
            stack.callback(database.dispose)
            migrations.upgrade(database, History.of(spec))
            migrations.downgrade(database, History.of(spec), "base")
            with database.engine.connect() as connection:
                assert inspect(connection).get_table_names() == [f"alembic_version_{spec.name}"]
            migrations.upgrade(database, History.of(spec))
            assert migrations.current_revision(database, History.of(spec)) == History.of(spec).head()


FAILING_REVISION = '''"""Adds a column, then fails."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"


def upgrade() -> None:
    with op.batch_alter_table("vehicle") as batch_op:
        batch_op.add_column(sa.Column("colour", sa.String(20)))
    op.execute("UPDATE vehicle SET colour = 'red'")
    raise RuntimeError("this revision fails half-way")
'''


def test_a_revision_that_fails_half_way_leaves_the_database_as_it_was(open_database, tmp_path):
    failing = History("fines", tmp_path / "versions")
    shutil.copytree(history("fines").versions, failing.versions)
    head = present(history("fines").head())
    following = f"{int(head) + 1:04d}"
    (failing.versions / f"{following}_fails.py").write_text(
        FAILING_REVISION.replace("{revision}", following).replace("{down_revision}", head)
    )
    database = open_database("fines")
    migrations.upgrade(database, failing, head)
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO vehicle (plate, owner_ref) VALUES ('粤A12345', 'owner-1')"))

    with pytest.raises(RuntimeError, match="half-way"):
        migrations.upgrade(database, failing)
    # on SQLite too: its DDL runs inside the migration's transaction (kernel.migrations._migration_connection)
    assert version_table_rows(database, "fines") == [head]
    with database.engine.connect() as connection:
        assert "colour" not in {column["name"] for column in inspect(connection).get_columns("vehicle")}
        assert connection.execute(text("SELECT owner_ref FROM vehicle")).scalar_one() == "owner-1"


# ---- the CI check, new revisions, the command --------------------------------------------------------------


def fines_with_a_new_column() -> MetaData:
    """Today's fines tables, one of which has gained columns no revision adds (the real models are untouched)."""
    changed = MetaData()
    for declared in declared_metadata(topology.service("fines")).tables.values():
        declared.to_metadata(changed)
    changed.tables["vehicle"].append_column(Column("colour", String(20), nullable=True))
    changed.tables["vehicle"].append_column(Column("inspected_at", UtcDateTime(), nullable=True))
    return changed


def test_the_check_fails_when_a_model_gains_a_column_no_migration_has(monkeypatch, capsys):
    changed = fines_with_a_new_column()
    differences = migrations.drift(changed, history("fines"))
    assert {(kind, table, column.name) for kind, _, table, column in differences} == {
        ("add_column", "vehicle", "colour"),
        ("add_column", "vehicle", "inspected_at"),
    }

    monkeypatch.setattr(migrations, "declared_metadata", lambda spec: changed)
    assert main(["migrate", "--check", "--service", "fines"]) == 1
    assert "fines: the models and the migrations disagree" in capsys.readouterr().err


def test_the_check_passes_for_the_models_as_they_are():
    assert main(["migrate", "--check", "--service", "fines", "--service", "prescriptions"]) == 0


def test_a_new_revision_is_written_from_the_models_and_closes_the_gap(tmp_path):
    copy = History("fines", tmp_path / "versions")
    shutil.copytree(history("fines").versions, copy.versions)
    changed = fines_with_a_new_column()

    path = migrations.new_revision(changed, copy, "vehicles have a colour")

    assert path.name == f"{int(present(history('fines').head())) + 1:04d}_vehicles_have_a_colour.py"
    written = path.read_text()
    assert "from kernel.database import UtcDateTime" in written and "sqlmodel" not in written
    assert migrations.drift(changed, copy) == []


def test_citygate_migrate_upgrades_each_service_database_from_the_services_settings(tmp_path, capsys):
    arguments = ["migrate", "--regime", "platform", "--service", "fines", "--service", "prescriptions"]
    assert main([*arguments, "--data-dir", str(tmp_path / "var")]) == 0
    assert capsys.readouterr().out.split("\n")[:2] == [
        f"platform  fines          empty -> {history('fines').head()}",
        f"platform  prescriptions  empty -> {history('prescriptions').head()}",
    ]
    assert {path.name for path in assert_private_tree(tmp_path / "var" / "platform")} == {
        "fines.db",
        "prescriptions.db",
    }

    assert main([*arguments, "--data-dir", str(tmp_path / "var")]) == 0
    assert f"platform  fines          at {history('fines').head()}" in capsys.readouterr().out
