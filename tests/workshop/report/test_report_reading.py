"""How the report reads text: tokens with word boundaries, what wraps a value (JSON, JWS, SD-JWT,
JWE, bytes), the truth file, and the percentiles of the convenience figures."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from workshop.report.convenience import nearest_rank
from workshop.report.matching import Needles
from workshop.report.truth import TruthError, truth_from_document
from workshop.report.values import MAX_LEAVES_PER_VALUE, Flattened, flatten


def b64(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def test_values_are_found_whole_never_inside_a_longer_word_or_number():
    needles: Needles[str] = Needles()
    needles.add("王芳", "name")
    needles.add("Wang Fang", "latin")
    needles.add("8613800000001", "phone")
    needles.add("1990-01-02", "birth")
    assert set(needles.find('{"name": "王芳 (Wang Fang)"}')) == {"name", "latin"}
    assert list(needles.find("王芳芳 wangfang")) == []
    assert list(needles.find("+86138000000012")) == []
    assert list(needles.find("tel:+8613800000001")) == ["phone"]
    assert list(needles.find("born 1990-01-02T00:00")) == []  # a timestamp's day is not a birth date
    assert list(needles.find("born 1990-01-02.")) == ["birth"]
    assert not needles.add("--", "nothing")


def test_wrappers_that_need_no_key_are_opened_and_sealed_ones_counted():
    found = Flattened()
    jws = f"{b64({'alg': 'ES256'})}.{b64({'payer': 'P-1', 'amount_cents': 200})}.c2ln"
    jwe = f"{b64({'alg': 'ECDH-ES', 'enc': 'A256GCM'})}.a.b.c.d"
    sd_jwt = f"{b64({'alg': 'ES256'})}.{b64({'iss': 'x'})}.c2ln~{b64(['salt', 'name', 'Li Wei'])}~"
    flatten("confirmation", jws, found)
    flatten("envelope", jwe, found)
    flatten("credential", sd_jwt, found)
    flatten("content", b'rx:medication "Metformin" .', found)
    flatten("details", json.dumps({"at": "2026-01-02T03:04:05Z", "inner": json.dumps({"k": "v"})}), found)
    flatten("hash", b"\xff\xfe", found)
    texts = {text for _, text in found.leaves}
    assert {"P-1", "Li Wei", 'rx:medication "Metformin" .', "v"} <= texts
    assert found.amounts == [200] and found.sealed == ["envelope"]
    assert found.timestamps == [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]
    assert ("confirmation#payload.payer", "P-1") in found.leaves and ("details.inner.k", "v") in found.leaves


def test_a_value_built_to_make_the_reader_work_is_bounded():
    deep: object = "x"
    for _ in range(200):
        deep = [deep]
    found = Flattened()
    flatten("deep", json.dumps(deep), found)
    assert found.leaves == []  # nested deeper than anything the services write
    flatten("wide", json.dumps(["a"] * 100_000), found)
    assert 0 < len(found.leaves) <= MAX_LEAVES_PER_VALUE


def test_the_truth_file_is_checked():
    with pytest.raises(TruthError, match=r"not a citygate\.truth/1"):
        truth_from_document([])
    with pytest.raises(TruthError, match="malformed"):
        truth_from_document({"schema": "citygate.truth/1", "residents": [{"handle": "r1"}]})


def test_percentiles_by_nearest_rank():
    values = [float(n) for n in range(1, 21)]
    assert (nearest_rank(values, 50), nearest_rank(values, 95), nearest_rank(values, 100)) == (10.0, 19.0, 20.0)
    assert nearest_rank([], 50) == 0.0 and nearest_rank([7.0], 95) == 7.0
