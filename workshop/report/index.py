"""The auditor's key: every value of the truth the report looks for, and what it means when found.

Built from the ground truth and from what the auditor may read besides the parties' stores:

- the identity provider's subject index (``sector_subject``: sector, subject, citizen) and its
  citizen table, which together say which resident each sector's pseudonym denotes (in the platform
  regime every "pseudonym" is the resident ID itself);
- the payment tables of the wallet and of the departments, which say which strings are payment
  references;
- the civil affairs bureau's offices (a public list: where appointments take place).

A *term* is one value to find (normalised, ``workshop.report.matching``) with its kind and the
residents it belongs to. Identifier kinds attribute a record to a resident when they belong to exactly
one: ``resident-id``, ``phone`` and ``name`` are a real identity (*direct*); a sector pseudonym, the
identity provider's account id and a plate are *indirect*: someone else's register turns them into a
person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from identity.models import Citizen, SectorSubject
from kernel import topology
from services.appointments.models import AppointmentType, Office
from services.credit.rules import RecordKind
from services.fines.models import Payment as FinePayment
from services.prescriptions.models import Payment as PrescriptionPayment
from superapp_gateway.models import WalletPayment
from workshop.report.matching import Needles, normalised
from workshop.report.stored import ServiceDump, TableDump
from workshop.report.truth import Truth

DIRECT_KINDS = frozenset({"resident-id", "phone", "name"})
INDIRECT_KINDS = frozenset({"plate", "account"})  # and every "pseudonym:<sector>"
# term kind -> the attribute class finding it reveals (identifiers that are no attribute: none)
CLASS_OF_KIND: dict[str, str] = {
    "resident-id": "resident_id",
    "phone": "phone",
    "name": "name",
    "plate": "plate",
    "address": "address",
    "birth-date": "birth_date",
    "offence": "offences",
    "diagnosis": "diagnosis",
    "medication": "medication",
    "marriage-date": "marital",
}
# Columns that hold payment references: (service, table, column).
PAYMENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("gateway", str(WalletPayment.__tablename__), "id"),
    ("gateway", str(WalletPayment.__tablename__), "department_receipt"),
    ("fines", str(FinePayment.__tablename__), "receipt_id"),
    ("fines", str(FinePayment.__tablename__), "payment_id"),
    ("prescriptions", str(PrescriptionPayment.__tablename__), "id"),
    ("prescriptions", str(PrescriptionPayment.__tablename__), "payment_id"),
)
# Whole stored values that say something by themselves.
CREDIT_WORDS = frozenset(
    normalised(word) for kind in RecordKind for word in (kind.name, kind.value, "joint-punishment")
)
MARITAL_WORDS = frozenset(
    normalised(word) for kind in (AppointmentType.MARRIAGE, AppointmentType.DIVORCE) for word in (kind.name, kind.value)
)
SERVICE_WORDS = frozenset(normalised(name) for name in (*topology.BY_NAME, "id-card", "my-data"))


@dataclass(frozen=True)
class Term:
    kind: str
    value: str  # as the truth (or the auditor's source) spells it
    owners: frozenset[int]  # residents (indexes into Truth.residents) it belongs to

    @property
    def identifier(self) -> bool:
        return len(self.owners) == 1 and (
            self.kind in DIRECT_KINDS or self.kind in INDIRECT_KINDS or self.kind.startswith("pseudonym:")
        )

    @property
    def direct(self) -> bool:
        return self.identifier and self.kind in DIRECT_KINDS


@dataclass
class AuditorKey:
    truth: Truth
    terms: list[Term] = field(default_factory=list)
    needles: Needles[int] = field(default_factory=Needles)
    identifier_values: dict[str, int] = field(default_factory=dict)  # raw identifier -> term
    payment_references: frozenset[str] = frozenset()
    spouses: dict[int, frozenset[int]] = field(default_factory=dict)
    residents_by_handle: dict[str, int] = field(default_factory=dict)


def build_key(truth: Truth, stores: Mapping[str, ServiceDump]) -> AuditorKey:
    key = AuditorKey(truth)
    key.residents_by_handle = {resident.handle: index for index, resident in enumerate(truth.residents)}
    values: dict[tuple[str, str], set[int]] = {}

    def add(kind: str, value: str | None, owner: int | None) -> None:
        if value:
            owners = values.setdefault((kind, value), set())
            if owner is not None:
                owners.add(owner)

    by_resident_id: dict[str, int] = {}
    for index, person in enumerate(truth.residents):
        by_resident_id[person.resident_id] = index
        add("resident-id", person.resident_id, index)
        for phone in phone_forms(person.phone):
            add("phone", phone, index)
        for name in (person.name, person.latin_name):
            for form in bilingual_forms(name):
                add("name", form, index)
        for part in bilingual_forms(person.address):
            add("address", part, index)
        add("plate", person.plate, index)
        for form in date_forms(person.birth_date):
            add("birth-date", form, index)
        for condition in person.conditions:
            add("diagnosis", condition.diagnosis, index)
            add("diagnosis", condition.diagnosis_code, index)
            add("medication", condition.medication, index)
    for prescription in truth.prescriptions:
        owner = key.residents_by_handle.get(prescription.resident)
        add("diagnosis", prescription.diagnosis, owner)
        add("medication", prescription.medication, owner)
    owners_of_plate = {resident.plate: index for index, resident in enumerate(truth.residents) if resident.plate}
    for fine in truth.fines:
        owner = owners_of_plate.get(fine.plate)
        add("offence", fine.offence, owner)
    key.spouses = _spouses(truth, key.residents_by_handle)
    for spouses, day in _marriage_days(truth, key.residents_by_handle):
        for form in date_forms(day):
            for spouse in spouses:
                add("marriage-date", form, spouse)
    identity = stores.get("identity")
    if identity is not None:
        for sector, subject, resident in _pseudonyms(identity, by_resident_id):
            if subject != truth.residents[resident].resident_id:  # platform: the "pseudonym" is the ID
                add(f"pseudonym:{sector}", subject, resident)
        for account, resident in _accounts(identity, by_resident_id):
            add("account", account, resident)
    appointments = stores.get("appointments")
    if appointments is not None and str(Office.__tablename__) in appointments.tables:
        for row in _rows(appointments.tables[str(Office.__tablename__)]):
            for column in ("id", "name", "name_en", "address"):
                add("place", _text(row.get(column)), None)
    references: set[str] = set()
    for service, table, column in PAYMENT_COLUMNS:
        dump = stores.get(service)
        if dump is not None and table in dump.tables:
            references.update(value for row in _rows(dump.tables[table]) if (value := _text(row.get(column))))
    key.payment_references = frozenset(references)
    for (kind, value), owners in sorted(values.items()):
        term_id = len(key.terms)
        term = Term(kind, value, frozenset(owners))
        key.terms.append(term)
        key.needles.add(value, term_id)
        if term.identifier:
            key.identifier_values[value] = term_id
    return key


def phone_forms(phone: str) -> list[str]:
    """E.164 and the national form a Chinese form or database would keep (+86 138... -> 138...)."""
    digits = phone.lstrip("+")
    forms = [digits]
    if digits.startswith("86") and len(digits) == 13:
        forms.append(digits[2:])
    return forms


def bilingual_forms(text: str | None) -> list[str]:
    """The whole text, and each half of a bilingual one: ``李伟 (Li Wei)``, ``广州市... (103 Tiyu West Road, ...)``."""
    if not text:
        return []
    forms = [text]
    if text.endswith(")") and " (" in text:
        chinese, latin = text[:-1].split(" (", 1)
        forms += [chinese, latin]
    return forms


def date_forms(day: date) -> list[str]:
    """ISO (1990-01-02) and the Chinese written forms (1990年1月2日, 1990年01月02日)."""
    return [
        day.isoformat(),
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}年{day.month:02d}月{day.day:02d}日",
    ]


def _spouses(truth: Truth, by_handle: Mapping[str, int]) -> dict[int, frozenset[int]]:
    pairs: dict[int, set[int]] = {}
    for spouses, _ in _marriage_days(truth, by_handle):
        a, b = spouses
        pairs.setdefault(a, set()).add(b)
        pairs.setdefault(b, set()).add(a)
    for index, resident in enumerate(truth.residents):
        if resident.spouse is not None and resident.spouse in by_handle:
            pairs.setdefault(index, set()).add(by_handle[resident.spouse])
    return {resident: frozenset(others) for resident, others in pairs.items()}


def _marriage_days(truth: Truth, by_handle: Mapping[str, int]) -> list[tuple[tuple[int, int], date]]:
    found: dict[tuple[int, int], date] = {}
    for marriage in truth.marriages:
        a, b = (by_handle.get(handle) for handle in marriage.spouses)
        if a is not None and b is not None and marriage.registered_on is not None:
            found[(min(a, b), max(a, b))] = marriage.registered_on
    for index, resident in enumerate(truth.residents):
        spouse = by_handle.get(resident.spouse or "")
        if spouse is not None and resident.married_on is not None:
            found.setdefault((min(index, spouse), max(index, spouse)), resident.married_on)
    return sorted(found.items())


def _pseudonyms(identity: ServiceDump, by_resident_id: Mapping[str, int]) -> list[tuple[str, str, int]]:
    accounts = dict(_accounts(identity, by_resident_id))
    table = identity.tables.get(str(SectorSubject.__tablename__))
    if table is None:
        return []
    return [
        (str(row["sector"]), str(row["subject"]), accounts[str(row["citizen_id"])])
        for row in _rows(table)
        if str(row["citizen_id"]) in accounts
    ]


def _accounts(identity: ServiceDump, by_resident_id: Mapping[str, int]) -> list[tuple[str, int]]:
    table = identity.tables.get(str(Citizen.__tablename__))
    if table is None:
        return []
    return [
        (str(row["id"]), by_resident_id[str(row["resident_id"])])
        for row in _rows(table)
        if str(row["resident_id"]) in by_resident_id
    ]


def _rows(table: TableDump) -> list[dict[str, object]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
