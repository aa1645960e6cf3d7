"""Guessing limits at the provider: one-time codes work once; attempts are counted before they are
checked, per account and per source address, and the answers do not tell which names exist."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from identity import login as identity_login
from identity.attempts import (
    ACCOUNT_LIMIT,
    SOURCE_LIMIT,
    count_attempt,
    count_attempts,
    record_success,
    source_key,
)
from identity.models import BrowserSession, GuessCount, IdentityTable
from identity.totp import totp
from kernel.database import Database
from kernel.personas import by_handle
from tests.fixtures.databases import backend_database
from tests.fixtures.matrix import BOTH_BACKENDS, RIGHTS_ONLY
from tests.fixtures.oidc_rp import RelyingParty

# The limits are the provider's, the same in both regimes: tested on one, on both databases.
pytestmark = [RIGHTS_ONLY, BOTH_BACKENDS, pytest.mark.started("identity")]

PATIENT = by_handle("wang-fang")
BURST = 30


async def step_up_page(mesh, rp: RelyingParty | None = None) -> tuple[RelyingParty, httpx.Response]:
    rp = rp or RelyingParty(mesh, "prescriptions")
    page = await rp.log_in(await rp.authorize(rp.request("openid")), PATIENT.handle)
    assert "Six-digit code" in page.text
    return rp, page


def from_address(mesh, client_id: str, address: str) -> RelyingParty:
    """A browser at its own address (the test transport otherwise calls from one fixed address)."""
    rp = RelyingParty(mesh, client_id)
    rp.browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=mesh.apps["identity"], client=(address, 4321)), base_url=mesh.urls["identity"]
    )
    return rp


async def login_form(mesh, address: str) -> tuple[RelyingParty, httpx.Response]:
    rp = from_address(mesh, "gateway", address)
    return rp, await rp.authorize(rp.request("openid"))


def expire_every_window(mesh) -> None:
    with mesh.apps["identity"].state.service.database.session() as session:
        session.exec(update(GuessCount).values(window_ends=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()


class SlowChecks:
    """Wraps a secret check: records what was checked and takes its time, so that every attempt
    of a burst is in flight at once (as 30 parallel requests against a real server were)."""

    def __init__(self, check) -> None:
        self.check = check
        self.checked: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, *args):
        secret = args[0] if isinstance(args[0], str) else args[2]
        with self.lock:
            self.checked.append(secret)
        time.sleep(0.3)
        return self.check(*args)


async def until(condition) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_one_time_code_is_accepted_once(rights):
    code = totp(PATIENT.totp_secret, time.time())
    rp, page = await step_up_page(rights)
    assert "asks to receive" in (await rp.second_factor(page, code)).text
    other_browser, page = await step_up_page(rights)
    replayed = await other_browser.second_factor(page, code)
    assert replayed.status_code == 401 and "already used" in replayed.text


async def test_repeated_wrong_passwords_lock_the_account_for_a_while(rights):
    rp = RelyingParty(rights, "gateway")
    page = await rp.authorize(rp.request("openid"))
    for _ in range(ACCOUNT_LIMIT.attempts):
        page = await rp.log_in(page, PATIENT.handle, password="guess")
        assert "Wrong name or password" in page.text
    locked = await rp.log_in(page, PATIENT.handle)  # the right password, too late
    assert locked.status_code == 401 and "Too many failed attempts" in locked.text
    expire_every_window(rights)
    assert "asks to receive" in (await rp.log_in(locked, PATIENT.handle)).text
    with rights.apps["identity"].state.service.database.session() as session:
        counts = {row.key: row.attempts for row in session.exec(select(GuessCount))}
    assert not any(key.startswith("password:") for key in counts), "a success forgets the account's count"
    assert counts == {source_key("127.0.0.1"): 0}, "and gives its source its attempt back"


async def test_a_burst_of_wrong_passwords_is_checked_only_up_to_the_limit(mesh, monkeypatch):
    """M2: 30 parallel guesses from 30 addresses; a right password sent once they are all in flight."""
    checks = SlowChecks(identity_login.verify_password)
    monkeypatch.setattr(identity_login, "verify_password", checks)
    forms = [await login_form(mesh, f"10.0.0.{i}") for i in range(BURST + 1)]
    answered: set[str] = set()

    async def guess(i: int) -> httpx.Response:
        rp, page = forms[i]
        answer = await rp.log_in(page, PATIENT.handle, password=f"guess-{i}")
        answered.add(f"guess-{i}")
        return answer

    async def right_password_once_the_guesses_are_in() -> httpx.Response:
        await until(lambda: len(answered | set(checks.checked)) >= BURST)
        rp, page = forms[BURST]
        return await rp.log_in(page, PATIENT.handle)

    *guesses, right = await asyncio.gather(*(guess(i) for i in range(BURST)), right_password_once_the_guesses_are_in())
    assert len(checks.checked) == ACCOUNT_LIMIT.attempts, "only the first attempts of the window are checked"
    assert all(answer.status_code == 401 for answer in guesses)
    assert right.status_code == 401 and "Too many failed attempts" in right.text, "the right one did not lift it"
    rp, page = await login_form(mesh, "10.0.1.1")
    assert "Too many failed attempts" in (await rp.log_in(page, PATIENT.handle)).text, "the lock holds"


async def test_a_burst_of_wrong_codes_is_checked_only_up_to_the_limit(mesh, monkeypatch):
    """The same for the second factor, with the right code sent once the burst is in flight."""
    pages = [await step_up_page(mesh, from_address(mesh, "prescriptions", f"10.0.2.{i}")) for i in range(BURST + 1)]
    checks = SlowChecks(identity_login.accept_one_time_code)
    monkeypatch.setattr(identity_login, "accept_one_time_code", checks)
    right_code = totp(PATIENT.totp_secret, time.time())
    wrong_codes = [f"{(int(right_code) + i + 1) % 1_000_000:06d}" for i in range(BURST)]
    answered: set[str] = set()

    async def guess(i: int) -> httpx.Response:
        rp, page = pages[i]
        answer = await rp.second_factor(page, wrong_codes[i])
        answered.add(wrong_codes[i])
        return answer

    async def right_code_once_the_guesses_are_in() -> httpx.Response:
        await until(lambda: len(answered | set(checks.checked)) >= BURST)
        rp, page = pages[BURST]
        return await rp.second_factor(page, right_code)

    *guesses, right = await asyncio.gather(*(guess(i) for i in range(BURST)), right_code_once_the_guesses_are_in())
    assert len(checks.checked) == ACCOUNT_LIMIT.attempts
    assert all(answer.status_code == 401 for answer in guesses)
    assert right.status_code == 401 and "Too many failed attempts" in right.text
    with mesh.apps["identity"].state.service.database.session() as session:
        assert all(row.amr == "pwd" for row in session.exec(select(BrowserSession))), "no session was stepped up"


async def test_one_address_cannot_lock_many_accounts(mesh, monkeypatch):
    """The per-source limit comes first: once an address has used it, its guesses are refused
    unchecked and not counted against any account, so the account's owner, elsewhere, logs in."""
    checks = SlowChecks(identity_login.verify_password)
    monkeypatch.setattr(identity_login, "verify_password", checks)
    rp, page = await login_form(mesh, "10.0.3.1")
    for i in range(SOURCE_LIMIT.attempts):  # names nobody has: each its own (unknown) account
        page = await rp.log_in(page, f"nobody-{i}", password="guess")
        assert "Wrong name or password" in page.text
    throttled = await rp.log_in(page, PATIENT.handle, password="guess")
    assert throttled.status_code == 401 and "Too many failed attempts" in throttled.text
    assert len(checks.checked) == SOURCE_LIMIT.attempts, "the throttled guess was not checked"
    with mesh.apps["identity"].state.service.database.session() as session:
        assert not session.exec(
            select(GuessCount).where(
                col(GuessCount.key).startswith("password:"), ~col(GuessCount.key).startswith("password:unknown:")
            )
        ).all()
    owner, page = await login_form(mesh, "10.0.3.2")
    assert "asks to receive" in (await owner.log_in(page, PATIENT.handle)).text


async def test_an_unknown_name_and_a_wrong_password_get_the_same_answer_after_the_same_work(mesh, monkeypatch):
    """L3: same status and page for both, and the password is hashed for an unknown name too."""
    checks = SlowChecks(identity_login.verify_password)
    monkeypatch.setattr(identity_login, "verify_password", checks)
    rp, page = await login_form(mesh, "10.0.4.1")
    wrong_password = await rp.log_in(page, PATIENT.handle, password="guess-1")
    unknown_name = await rp.log_in(page, "no-such-citizen", password="guess-2")
    assert checks.checked == ["guess-1", "guess-2"], "an unknown name costs one password hash too"
    assert (wrong_password.status_code, wrong_password.text) == (unknown_name.status_code, unknown_name.text)
    for i in range(ACCOUNT_LIMIT.attempts):  # an unknown name locks exactly as a real one does
        unknown_name = await rp.log_in(page, "no-such-citizen", password=f"guess-{i}")
        wrong_password = await rp.log_in(page, PATIENT.handle, password=f"guess-{i}")
        assert (wrong_password.status_code, wrong_password.text) == (unknown_name.status_code, unknown_name.text)
    assert "Too many failed attempts" in unknown_name.text


# --- the counter itself, under threads, on both databases -------------------------------------------------


@pytest.fixture
def identity_database(backend: str, tmp_path) -> Iterator[Database]:
    with backend_database(backend, tmp_path, "identity", IdentityTable.metadata) as database:
        yield database


def test_parallel_attempts_are_allowed_exactly_up_to_the_limit(identity_database):
    now = datetime.now(UTC)
    barrier = threading.Barrier(BURST)
    verdicts: list[timedelta | None] = []

    def attempt() -> None:
        barrier.wait()
        with identity_database.session() as session:
            verdicts.append(count_attempt(session, "password:someone", ACCOUNT_LIMIT, now))

    threads = [threading.Thread(target=attempt) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verdicts.count(None) == ACCOUNT_LIMIT.attempts
    assert all(timedelta(0) < wait <= ACCOUNT_LIMIT.window for wait in verdicts if wait is not None)


def test_people_behind_one_address_who_log_in_are_never_throttled(identity_database):
    now = datetime.now(UTC)
    with identity_database.session() as session:
        for i in range(SOURCE_LIMIT.attempts * 2):
            assert count_attempts(session, "source:192.0.2.1", f"password:citizen-{i}", now) is None
            record_success(session, "source:192.0.2.1", f"password:citizen-{i}")
        later = now + ACCOUNT_LIMIT.window
        assert count_attempt(session, "password:citizen-0", ACCOUNT_LIMIT, later) is None


def test_a_lock_ends_with_its_window_and_attempts_past_the_limit_do_not_prolong_it(identity_database):
    start = datetime.now(UTC)
    with identity_database.session() as session:
        for _ in range(ACCOUNT_LIMIT.attempts):
            assert count_attempt(session, "password:someone", ACCOUNT_LIMIT, start) is None
        wait = count_attempt(session, "password:someone", ACCOUNT_LIMIT, start + timedelta(minutes=4))
        assert wait is not None and wait <= timedelta(minutes=1)
        assert count_attempt(session, "password:someone", ACCOUNT_LIMIT, start + ACCOUNT_LIMIT.window) is None


def test_an_ipv6_source_is_its_64_and_a_mapped_ipv4_is_the_ipv4():
    assert source_key("2001:db8:1:2:aaaa::1") == source_key("2001:db8:1:2:bbbb::7") == "source:2001:db8:1:2::/64"
    assert source_key("::ffff:192.0.2.7") == source_key("192.0.2.7") == "source:192.0.2.7"
    assert source_key("not an address") == source_key(None) == "source:unknown"


async def test_the_provider_keeps_only_a_digest_of_the_login_session_id(rights):
    rp, _ = await step_up_page(rights)
    cookie = rp.browser.cookies["citygate_idp_rights"]
    with rights.apps["identity"].state.service.database.session() as session:
        [stored] = session.exec(select(BrowserSession)).all()
    assert cookie not in stored.model_dump_json()
    assert stored.id == hashlib.sha256(cookie.encode()).hexdigest()
    assert "Six-digit code" in (await rp.authorize(rp.request("openid"))).text, "and the cookie still works"
