"""Every number and string a request carries is bounded at the edge (kernel/bounds.py): a value the
database cannot hold (2**63 overflows SQLite, 2**31 a PostgreSQL INTEGER), a negative id or a
10 MB string is a 422 problem (413 when the body itself is too large), never a 500 — in both
regimes, on SQLite and PostgreSQL, with each credential kind the route takes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from kernel import topology
from kernel.personas import by_handle
from kernel.problems import PROBLEM_MEDIA_TYPE
from kernel.regime import Regime
from kernel.resident_id import make_resident_id
from tests.fixtures.credentials import Credentials
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS]

TOO_BIG = 2**63  # one past SQLite's INTEGER; far past PostgreSQL's
PAST_INT32 = 2**31  # one past PostgreSQL's INTEGER, which SQLModel makes of an int field
NEGATIVE = -1
LONG = "x" * 10_000  # within the request-body limit: refused by the field's own bound
HUGE = "x" * 10_000_000  # 10 MB: sent in a body (no URL is that long: httpx and servers cap them near 64 KB)
LONGEST_URL_PART = "x" * 60_000  # what a path or query can carry


@dataclass(frozen=True)
class Probe:
    """A request whose ``{v}`` (in the path, the query or the JSON body) is replaced by a bad value;
    ``control`` is a good value of the same field, which must NOT be refused as invalid — so the 422
    comes from the field's bound, not from something else wrong with the request."""

    service: str
    credential: str
    method: str
    target: str
    control: object
    body: dict | None = None
    regimes: tuple[Regime, ...] = tuple(Regime)
    row_id: bool = True  # an integer stored in an INTEGER column (else a log position, up to 2**53 - 1)
    moment: bool = False  # a day or an instant (else a string, by the control's type)

    @property
    def is_integer(self) -> bool:
        return isinstance(self.control, int)

    def request(self, value) -> dict:
        text = quote(str(value), safe="")
        if self.body is None:
            return {"url": self.target.replace("{v}", text)}
        body = {key: (value if item == "{v}" else item) for key, item in self.body.items()}
        return {"url": self.target, "json": body}


RESIDENT_ID = "440104199008232150"
PROBES = [
    # fines: path ids, the citizen's own route, a path string
    Probe("fines", "service:gateway", "GET", "/fines/{v}", control=999_999),
    Probe("fines", "service:gateway", "GET", "/fines/{v}/receipt", control=999_999),
    Probe("fines", "citizen-app", "GET", "/me/fines/{v}", control=999_999),
    Probe("fines", "service:gateway", "GET", "/citizens/{v}/fines", control="nobody"),
    # appointments: path id, body ids (department and citizen routes), query and path strings
    Probe("appointments", "service:gateway", "GET", "/slots/{v}", control=999_999),
    Probe(
        "appointments",
        "service:gateway",
        "POST",
        "/bookings",
        control=999_999,
        body={"slot_id": "{v}", "type": "certificate-copy", "subject": "someone"},
    ),
    Probe(
        "appointments",
        "citizen-app",
        "POST",
        "/me/bookings",
        control=999_999,
        body={"slot_id": "{v}", "type": "certificate-copy"},
    ),
    Probe("appointments", "service:gateway", "GET", "/slots?office_id={v}", control="nowhere"),
    Probe("appointments", "service:gateway", "GET", "/bookings/{v}", control="no-such-booking"),
    Probe("appointments", "service:gateway", "GET", "/slots?date={v}", control="2026-05-20", moment=True),
    # prescriptions: path strings
    Probe("prescriptions", "service:gateway", "GET", "/prescriptions/{v}", control="no-such-prescription"),
    Probe("prescriptions", "citizen-app", "GET", "/me/prescriptions/{v}", control="no-such-prescription"),
    # identity: a body string
    Probe("identity", "service:fines", "POST", "/sector-subjects", control=RESIDENT_ID, body={"resident_id": "{v}"}),
    # the services' own operators: a body string, amounts, a day and an instant in bodies
    Probe(
        "identity",
        "operator",
        "POST",
        "/residents",
        control="1 Test Road, Guangzhou",
        body={
            "handle": "bounds-probe",
            "resident_id": make_resident_id("440106", date(1970, 1, 1), 1),
            "name": "测试 (Ce Shi)",
            "phone": "+8613900000000",
            "address": "{v}",
            "password": "a long enough password",
            "totp_secret": "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
        },
    ),
    Probe(
        "fines",
        "operator",
        "POST",
        "/fines",
        control=20_000,
        body={
            "reference": "bounds-1",
            "plate": "粤A12345",
            "offence": "Speeding",
            "place": "Airport Expressway",
            "occurred_at": "2026-11-01T09:00:00+08:00",
            "amount_cents": "{v}",
            "due_date": "2026-12-31",
        },
    ),
    Probe(
        "fines",
        "operator",
        "POST",
        "/fines",
        control="2026-11-01T09:00:00+08:00",
        moment=True,
        body={
            "reference": "bounds-2",
            "plate": "粤A12345",
            "offence": "Speeding",
            "place": "Airport Expressway",
            "occurred_at": "{v}",
            "amount_cents": 20_000,
            "due_date": "2026-12-31",
        },
    ),
    Probe(
        "appointments",
        "operator",
        "POST",
        "/marriages",
        control="2016-05-20",  # the demo couple's marriage: recorded again, 200
        moment=True,
        body={
            "spouses": [by_handle("chen-jun").resident_id, by_handle("zhang-min").resident_id],
            "registered_on": "{v}",
        },
    ),
    Probe(
        "prescriptions",
        "operator",
        "POST",
        "/hospital/prescriptions",
        control=1_860,
        regimes=(Regime.PLATFORM,),  # the rights regime needs the patient's pod (test_hospital_prescriptions.py)
        body={
            "reference": "bounds-1",
            "patient_resident_id": by_handle("wang-fang").resident_id,
            "prescriber": "Dr. Huang Lei",
            "medication": "Metformin hydrochloride 500 mg tablets",
            "dose": "500 mg twice daily",
            "quantity": 60,
            "diagnosis_code": "E11.9",
            "amount_cents": "{v}",
        },
    ),
    # the super-app gateway, with the browser's session (in the rights regime it asks departments
    # nothing on the citizen's behalf: only the blind courier, whose envelopes it cannot read)
    Probe("gateway", "session", "GET", "/wallet/payments/{v}", control="no-such-payment"),
    Probe("gateway", "session", "GET", "/city-services/fines/{v}/receipt", control=999_999, regimes=(Regime.PLATFORM,)),
    Probe(
        "gateway",
        "session",
        "POST",
        "/city-services/appointments/bookings",
        control=999_999,
        body={"slot_id": "{v}", "type": "certificate-copy"},
        regimes=(Regime.PLATFORM,),
    ),
    Probe(
        "gateway",
        "session",
        "GET",
        "/city-services/prescriptions/{v}",
        control="no-such-prescription",
        regimes=(Regime.PLATFORM,),
    ),
    Probe(
        "gateway",
        "session",
        "GET",
        "/city-services/appointments/slots?date={v}",
        control="2026-05-20",
        moment=True,
        regimes=(Regime.PLATFORM,),
    ),
    # platform only: the credit platform (amounts in a body, subjects in a path), Internet Plus
    Probe(
        "credit",
        "service:fines",
        "POST",
        "/records",
        control=20_000,
        regimes=(Regime.PLATFORM,),
        body={"subject": RESIDENT_ID, "kind": "overdue-fine", "reference": "bounds-1", "amount_cents": "{v}"},
    ),
    Probe(
        "credit",
        "service:appointments",
        "GET",
        "/subjects/{v}/restrictions?service=appointments",
        control=RESIDENT_ID,
        regimes=(Regime.PLATFORM,),
    ),
    Probe(
        "gateway",
        "service:fines",
        "GET",
        "/internet-plus/citizens/{v}",
        control=RESIDENT_ID,
        regimes=(Regime.PLATFORM,),
    ),
    # rights only: the public ledger's positions, the citizen's consent app
    Probe("consent", "anonymous", "GET", "/ledger/roots/{v}", control=1, regimes=(Regime.RIGHTS,), row_id=False),
    Probe(
        "consent",
        "anonymous",
        "GET",
        "/ledger/inclusion-proof?leaf_index={v}&tree_size=1",
        control=0,
        regimes=(Regime.RIGHTS,),
        row_id=False,
    ),
    Probe(
        "consent",
        "anonymous",
        "GET",
        "/ledger/entries?start=0&end={v}",
        control=1,
        regimes=(Regime.RIGHTS,),
        row_id=False,
    ),
    Probe("consent", "citizen-app", "GET", "/me/access-log?recipient={v}", control="fines", regimes=(Regime.RIGHTS,)),
    Probe("consent", "citizen-app", "GET", "/me/artefacts/{v}", control="no-such-artefact", regimes=(Regime.RIGHTS,)),
    Probe(
        "consent",
        "citizen-app",
        "GET",
        "/me/access-log?since={v}",
        control="2026-05-20T00:00:00+08:00",
        moment=True,
        regimes=(Regime.RIGHTS,),
    ),
    Probe(
        "consent",
        "citizen-app",
        "GET",
        "/me/access-log?until={v}",
        control="2026-05-20T00:00:00+08:00",
        moment=True,
        regimes=(Regime.RIGHTS,),
    ),
    Probe(
        "consent",
        "service:fines",
        "POST",
        "/consent-requests",
        control="2030-05-20T00:00:00+08:00",
        moment=True,
        regimes=(Regime.RIGHTS,),
        body={
            "subject": "someone",
            "purposes": ["dpv:ServiceProvision"],
            "categories": ["pd:Vehicle"],
            "valid_until": "{v}",
        },
    ),
]


FIRST_DAY, LAST_DAY = "0001-01-01", "9999-12-31"  # a time zone away from the end of Python's calendar
FIRST_INSTANT, LAST_INSTANT = "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"


def _bad_values(probe: Probe) -> list[tuple[object, int]]:
    """Each bad value and the status it must get."""
    if probe.moment:
        first, last = (FIRST_INSTANT, LAST_INSTANT) if "T" in str(probe.control) else (FIRST_DAY, LAST_DAY)
        return [(first, 422), (last, 422)]
    if probe.is_integer:
        integers: list[tuple[object, int]] = [(TOO_BIG, 422), (NEGATIVE, 422)]
        return integers + ([(PAST_INT32, 422)] if probe.row_id else [])
    return [(LONG, 422), (HUGE, 413) if probe.body is not None else (LONGEST_URL_PART, 422)]


async def test_out_of_bounds_values_are_refused_as_invalid_never_a_server_error(mesh):
    credentials = Credentials(mesh)
    wrong = []
    try:
        for probe in PROBES:
            if mesh.regime not in probe.regimes:
                continue
            headers = await credentials.headers(probe.service, probe.credential)
            async with mesh.client(probe.service) as client:
                control = await client.request(probe.method, headers=headers, **probe.request(probe.control))
                if control.status_code in (401, 403, 422) or control.status_code >= 500:
                    wrong.append(
                        f"{probe.method} {probe.target} control {probe.control!r}: "
                        f"{control.status_code} {control.text[:200]}"
                    )
                for value, expected in _bad_values(probe):
                    response = await client.request(probe.method, headers=headers, **probe.request(value))
                    media = response.headers.get("content-type", "").split(";")[0]
                    if response.status_code != expected or media != PROBLEM_MEDIA_TYPE:
                        shown = value if len(str(value)) < 30 else f"<{len(str(value))} characters>"
                        wrong.append(
                            f"{probe.service} {probe.method} {probe.target} [{probe.credential}] {shown}: "
                            f"{response.status_code} {media} (expected {expected})"
                        )
    finally:
        await credentials.aclose()
    assert not wrong, "\n".join(wrong)


# --- every service's OpenAPI declares the bounds ----------------------------------------------------

# Validated by the route itself, with its own problem (documented with the route): not schema bounds.
CHECKED_IN_CODE = {
    ("header", "Idempotency-Key"),
    ("header", "idempotency-key"),  # 1-200 printable ASCII, else 400
    ("path", "rest"),  # a pod path: pod.paths.check_path (at most MAX_PATH characters), else 400
}


def _unbounded(spec: dict, schema: dict, where: str) -> list[str]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    found = [
        item
        for key in ("anyOf", "oneOf", "allOf")
        for sub in schema.get(key, [])
        for item in _unbounded(spec, sub, where)
    ]
    kind = schema.get("type")
    if kind == "integer" and not (
        {"minimum", "exclusiveMinimum"} & schema.keys() and {"maximum", "exclusiveMaximum"} & schema.keys()
    ):
        found.append(f"{where}: integer without minimum and maximum")
    if (
        kind == "string"
        and "maxLength" not in schema
        and not {"enum", "const"} & schema.keys()
        and schema.get("format") not in ("date", "date-time")
    ):
        found.append(f"{where}: string without maxLength")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}: array without maxItems")
        found += _unbounded(spec, schema.get("items", {}), where + "[]")
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(spec, sub, f"{where}.{name}")
    return found


@pytest.mark.parametrize("regime", list(Regime), ids=[r.value for r in Regime])
def test_every_integer_and_string_a_request_carries_is_bounded_in_the_openapi(regime):
    unbounded = []
    with tempfile.TemporaryDirectory() as data_root:
        for spec in topology.services_in(regime):
            settings = spec.settings_class()(regime=regime, data_dir=Path(data_root) / spec.name)
            openapi = spec.build_app(settings).openapi()
            for path, item in openapi["paths"].items():
                for method, operation in item.items():
                    where = f"{spec.name} {method.upper()} {path}"
                    for parameter in operation.get("parameters", []):
                        if (parameter["in"], parameter["name"]) not in CHECKED_IN_CODE:
                            unbounded += _unbounded(
                                openapi, parameter.get("schema", {}), f"{where} {parameter['in']} {parameter['name']}"
                            )
                    for media, content in operation.get("requestBody", {}).get("content", {}).items():
                        unbounded += _unbounded(openapi, content.get("schema", {}), f"{where} body ({media})")
    assert not unbounded, "\n".join(sorted(set(unbounded)))
