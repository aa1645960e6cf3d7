"""A prescription as an RDF document in the patient's pod, signed by the hospital: the vocabulary
(docs/pod.md, "Where government data lands"), the signature and the conversion both ways.

Terms are in ``rx:`` (https://citygate.example/ns/prescription#), one per field of
:class:`PrescriptionContents` plus the identifier and issue time; each maps onto a FHIR R4
``MedicationRequest`` element so that a health app can translate it (see the docs).

The pod is the patient's: she may read, change, export or erase anything in it. So what the
pharmacy dispenses is never the readable triples but the hospital's **signed statement** beside
them (``rx:signature``): a compact JWS (ES256, ``typ: prescription+jws``, the prescriptions
service's key, published in its ``/.well-known/jwks.json``) over the RFC 8785 canonical JSON of
the contents, bound to the prescription's id, to the place in her pod it was deposited at and to
the patient (a commitment to her health-sector subject, which does not reveal it). The department
keeps the SHA-256 of that canonical payload on its process record; a document whose signature,
binding, digest or readable triples do not match is :class:`PrescriptionAltered`. Her own notes
(other predicates, other resources) may sit beside it and change nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import rfc8785
from joserfc.jwk import ECKey, KeySet
from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import IdentifiedNode, Node

from kernel.signed import InvalidStatement, sign_canonical, verify_canonical
from services.prescriptions.models import PrescriptionContents

RX = Namespace("https://citygate.example/ns/prescription#")
FIELDS = ("prescriber", "medication", "dose", "quantity", "diagnosis_code")
PREDICATE_OF = {
    "prescriber": RX.prescriber,
    "medication": RX.medication,
    "dose": RX.dose,
    "quantity": RX.quantity,
    "diagnosis_code": RX.diagnosis,
}
SIGNATURE_TYPE = "prescription+jws"
SIGNED_BY = "prescriptions"  # the service whose JWKS verifies the signature: the hospital
MAX_SIGNATURE_LENGTH = 8000  # a signed prescription is well under 2 kB; refuse anything far larger


class NotAPrescription(ValueError):
    """The pod answered with a document that is not one prescription in this vocabulary."""


class PrescriptionAltered(ValueError):
    """The document is not what the hospital signed for this prescription."""


def patient_commitment(prescription_id: str, patient: str) -> str:
    """Binds the signed payload to the patient without writing her health-sector subject into her pod."""
    return hashlib.sha256(f"citygate-prescription-patient\0{prescription_id}\0{patient}".encode()).hexdigest()


def signed_payload(
    *, prescription_id: str, pod_ref: str, patient: str, issued_at: datetime, contents: PrescriptionContents
) -> dict:
    return {
        "iss": SIGNED_BY,
        "prescription_id": prescription_id,
        "pod_ref": pod_ref,
        "patient": patient_commitment(prescription_id, patient),
        "issued_at": issued_at.isoformat(),
        **contents.model_dump(include=set(FIELDS)),
    }


def digest_of(payload: dict) -> str:
    """SHA-256 (hex) of the payload's RFC 8785 canonical form: what the process record keeps."""
    return hashlib.sha256(rfc8785.dumps(payload)).hexdigest()


def sign(payload: dict, key: ECKey) -> str:
    return sign_canonical(payload, key, typ=SIGNATURE_TYPE)


def verified_payload(signature: str, keys: KeySet) -> dict:
    """The payload of a canonical ``prescription+jws`` signed by one of ``keys``, or PrescriptionAltered."""
    try:
        return verify_canonical(signature, keys, typ=SIGNATURE_TYPE)
    except InvalidStatement as error:
        raise PrescriptionAltered(f"the hospital's signature: {error}") from error


def to_turtle(
    url: str, prescription_id: str, issued_at: datetime, contents: PrescriptionContents, signature: str
) -> bytes:
    graph = Graph()
    graph.bind("rx", RX)
    subject = URIRef(url)
    graph.add((subject, RDF.type, RX.Prescription))
    graph.add((subject, RX.identifier, Literal(prescription_id)))
    graph.add((subject, RX.issued, Literal(issued_at.isoformat(), datatype=XSD.dateTime)))
    for field in FIELDS:
        value = getattr(contents, field)
        literal = Literal(value, datatype=XSD.integer) if isinstance(value, int) else Literal(value)
        graph.add((subject, PREDICATE_OF[field], literal))
    graph.add((subject, RX.signature, Literal(signature)))
    return graph.serialize(format="turtle", base=url).encode()


def _graph(document: bytes, url: str) -> tuple[Graph, Node]:
    graph = Graph()
    try:
        graph.parse(data=document, format="turtle", publicID=url)
    except Exception as error:  # rdflib raises several unrelated types for bad Turtle
        raise NotAPrescription("not Turtle") from error
    subjects = list(graph.subjects(RDF.type, RX.Prescription))
    if len(subjects) != 1:
        raise NotAPrescription(f"{len(subjects)} rx:Prescription subjects, expected 1")
    return graph, subjects[0]


def from_turtle(document: bytes, url: str) -> PrescriptionContents:
    """The readable triples (what a health app shows); NOT what is dispensed — see :func:`signed_contents`."""
    graph, subject = _graph(document, url)
    values = {}
    for field in FIELDS:
        objects = list(graph.objects(subject, PREDICATE_OF[field]))
        if len(objects) != 1:
            raise NotAPrescription(f"{len(objects)} values of {PREDICATE_OF[field].n3(graph.namespace_manager)}")
        [value] = objects
        assert isinstance(value, IdentifiedNode | Literal)  # what a parsed graph's objects are
        values[field] = value.toPython()
    try:
        return PrescriptionContents.model_validate(values)
    except ValueError as error:
        raise NotAPrescription(str(error)) from error


def signed_contents(
    document: bytes, url: str, keys: KeySet, *, prescription_id: str, patient: str, digest: str | None
) -> PrescriptionContents:
    """The contents the hospital signed for this prescription, read from the document at ``url``.

    Raises PrescriptionAltered unless: exactly one signature verifies with ``keys``; its payload is
    bound to ``prescription_id``, to ``url`` and to ``patient``; its canonical digest is the one the
    process record kept; and the readable triples say the same as the signed payload. Other triples
    (her notes) are ignored.
    """
    try:
        graph, subject = _graph(document, url)
    except NotAPrescription as error:  # the hospital deposited one prescription; anything else was put there
        raise PrescriptionAltered(f"the document is no longer one prescription: {error}") from error
    signatures = [str(value) for value in graph.objects(subject, RX.signature)]
    if len(signatures) != 1 or len(signatures[0]) > MAX_SIGNATURE_LENGTH:
        raise PrescriptionAltered(f"{len(signatures)} signatures of the hospital, expected 1")
    payload = verified_payload(signatures[0], keys)
    expected = {
        "iss": SIGNED_BY,
        "prescription_id": prescription_id,
        "pod_ref": url,
        "patient": patient_commitment(prescription_id, patient),
    }
    if any(payload.get(claim) != value for claim, value in expected.items()):
        raise PrescriptionAltered("the signature is for another prescription, place or patient")
    if digest is None or digest_of(payload) != digest:
        raise PrescriptionAltered("the signed contents are not those the hospital recorded issuing")
    try:
        contents = PrescriptionContents.model_validate({field: payload.get(field) for field in FIELDS})
        readable = from_turtle(document, url)
    except (ValueError, NotAPrescription) as error:
        raise PrescriptionAltered("the document does not hold the signed contents") from error
    if readable != contents:
        raise PrescriptionAltered("the readable prescription differs from what the hospital signed")
    return contents
