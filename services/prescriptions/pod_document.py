"""A prescription as an RDF document in the patient's pod: the vocabulary (docs/pod.md, "Where
government data lands") and the conversion both ways.

Terms are in ``rx:`` (https://citygate.example/ns/prescription#), one per field of
:class:`PrescriptionContents` plus the identifier and issue time; each maps onto a FHIR R4
``MedicationRequest`` element so that a health app can translate it (see the docs).
"""

from __future__ import annotations

from datetime import datetime

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef

from services.prescriptions.models import PrescriptionContents

RX = Namespace("https://citygate.example/ns/prescription#")
FIELDS = ("prescriber", "medication", "dose", "quantity", "diagnosis_code")
PREDICATE_OF = {"prescriber": RX.prescriber, "medication": RX.medication, "dose": RX.dose,
                "quantity": RX.quantity, "diagnosis_code": RX.diagnosis}


class NotAPrescription(ValueError):
    """The pod answered with a document that is not one prescription in this vocabulary."""


def to_turtle(url: str, prescription_id: str, issued_at: datetime, contents: PrescriptionContents) -> bytes:
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
    return graph.serialize(format="turtle", base=url).encode()


def from_turtle(document: bytes, url: str) -> PrescriptionContents:
    graph = Graph()
    try:
        graph.parse(data=document, format="turtle", publicID=url)
    except Exception as error:  # rdflib raises several unrelated types for bad Turtle
        raise NotAPrescription(f"not Turtle: {error}") from error
    subjects = list(graph.subjects(RDF.type, RX.Prescription))
    if len(subjects) != 1:
        raise NotAPrescription(f"{len(subjects)} rx:Prescription subjects, expected 1")
    values = {}
    for field in FIELDS:
        objects = list(graph.objects(subjects[0], PREDICATE_OF[field]))
        if len(objects) != 1:
            raise NotAPrescription(f"{len(objects)} values of {PREDICATE_OF[field].n3(graph.namespace_manager)}")
        values[field] = objects[0].toPython()
    try:
        return PrescriptionContents.model_validate(values)
    except ValueError as error:
        raise NotAPrescription(str(error)) from error
