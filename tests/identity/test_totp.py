"""TOTP against RFC 6238 Appendix B, and the verification window."""

from __future__ import annotations

import pytest

from identity.totp import matching_step, totp, verify_totp

# RFC 6238 Appendix B: the HMAC-SHA1 rows, seed "12345678901234567890", 30-second steps, 8 digits.
RFC_SECRET = b"12345678901234567890"
RFC_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "expected"), RFC_SHA1_VECTORS)
def test_rfc_6238_sha1_vectors(at: int, expected: str):
    assert totp(RFC_SECRET, at, digits=8) == expected
    assert verify_totp(RFC_SECRET, expected, at, window=0, digits=8)


@pytest.mark.parametrize(("at", "expected"), RFC_SHA1_VECTORS)
def test_six_digits_are_the_last_six_of_eight(at: int, expected: str):
    # The same truncated value modulo 10^6 instead of 10^8; the leading zero of 07081804 stays.
    assert totp(RFC_SECRET, at) == expected[-6:]
    assert verify_totp(RFC_SECRET, expected[-6:], at)


def test_a_code_holds_for_its_whole_30_second_step():
    assert totp(RFC_SECRET, 1111111110.0) == totp(RFC_SECRET, 1111111139.999)
    assert totp(RFC_SECRET, 1111111139.999) != totp(RFC_SECRET, 1111111140)


def test_the_window_accepts_one_step_either_side_and_no_more():
    at = 1234567890
    for offset, accepted in [(-90, False), (-30, True), (0, True), (30, True), (60, False)]:
        code = totp(RFC_SECRET, at + offset)
        assert verify_totp(RFC_SECRET, code, at) is accepted, offset
    assert not verify_totp(RFC_SECRET, totp(RFC_SECRET, at - 30), at, window=0)
    assert verify_totp(RFC_SECRET, totp(RFC_SECRET, at + 60), at, window=2)


def test_the_matching_step_is_reported_for_replay_protection():
    at = 1234567890
    assert matching_step(RFC_SECRET, totp(RFC_SECRET, at - 30), at) == at // 30 - 1
    assert matching_step(RFC_SECRET, totp(RFC_SECRET, at), at) == at // 30
    assert matching_step(RFC_SECRET, "000000" if totp(RFC_SECRET, at) != "000000" else "111111", at, 0) is None


def test_the_window_does_not_reach_before_the_epoch():
    assert verify_totp(RFC_SECRET, totp(RFC_SECRET, 0), 10)
    with pytest.raises(ValueError, match="epoch"):
        totp(RFC_SECRET, -1)


FULL_WIDTH_287082 = "\uff12\uff18\uff17\uff10\uff18\uff12"


@pytest.mark.parametrize("code", ["", "28708", "2870820", "9428708", "28708a", "28 708", " 287082", FULL_WIDTH_287082])
def test_malformed_codes_are_refused_without_error(code: str):
    assert not verify_totp(RFC_SECRET, code, 59)


def test_another_secret_gives_other_codes():
    assert not verify_totp(b"another secret, 20 b", totp(RFC_SECRET, 59), 59)


def test_out_of_range_parameters_are_errors():
    with pytest.raises(ValueError, match="1 to 9 digits"):
        totp(RFC_SECRET, 59, digits=10)
    with pytest.raises(ValueError, match="positive"):
        totp(RFC_SECRET, 59, step=0)
    with pytest.raises(ValueError, match="window"):
        verify_totp(RFC_SECRET, "287082", 59, window=-1)
