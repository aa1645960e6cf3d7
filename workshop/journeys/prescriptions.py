"""Journey 3, get a prescription, told step by step (docs/journeys.md).

Platform: the super-app books the online consultation, pays, orders the pharmacy and the courier for
her, and keeps it all. Rights: Wang Fang's own app asks the hospital through the super-app's blind
courier, the prescription lands in her pod signed by the hospital (her app checks the signature), she
answers the consent prompts (the pharmacy may read it;
the parcel courier may have her address), and the super-app learns only the payment. Every
consultation issues a new prescription, so the walkthrough can be run again and again against the
same ``citygate up``.
"""

from __future__ import annotations

from typing import Any

from rdflib import Graph, URIRef

from kernel.keys import signature_key_set
from kernel.personas import Persona, by_handle
from kernel.regime import Regime
from services.prescriptions.pod_document import RX, PrescriptionAltered, verified_payload
from workshop.journeys.cast import Cast
from workshop.journeys.common import (
    connection,
    device_tokens,
    log_in,
    pay_again,
    pay_from_wallet,
    through_courier,
    what_the_super_app_kept,
    yuan,
)
from workshop.narration import Step, StepFailed, Told, expect

DEFAULT_CAST = Cast(by_handle("wang-fang"))
PERSONA = DEFAULT_CAST.citizen.handle
PHARMACY = "Liwan Dashenlin Pharmacy"
DEVICE_SERVICES = ("prescriptions", "pod", "consent")


def _contents(rx: dict) -> str:
    return f"{rx['medication']}, {rx['dose']}, {rx['quantity']} units, diagnosis {rx['diagnosis_code']}"


# --- both regimes -------------------------------------------------------------------------------------


def the_prescription(state: dict[str, Any]) -> dict:
    rx = state["rx"]
    return {"payee": "prescriptions", "reference": rx["id"], "amount_cents": rx["amount_cents"]}


def pay_the_prescription() -> Step:
    return pay_from_wallet("she pays the prescription from the wallet", "hospital", the_prescription)


RETRY = "her phone sends the payment again (a retry after a lost answer)"


# --- platform -------------------------------------------------------------------------------------------


def platform_consultation() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        rx = state["rx"] = expect(await state["browser"].post("/city-services/prescriptions/consultations"), 201)
        return [
            Told(
                "hospital",
                f"was asked by the super-app to issue a prescription for resident {rx['patient']}; "
                f"issued {rx['id']} and keeps it, diagnosis included",
            ),
            Told("super-app", f"received and kept {_contents(rx)}, {yuan(rx['amount_cents'])}"),
        ]

    return Step("she has an online consultation in the super-app: the doctor prescribes", run)


def platform_dispensation() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        rx = state["rx"]
        dispensed = expect(
            await state["browser"].post(
                f"/city-services/prescriptions/{rx['id']}/dispensation", json={"pharmacy": PHARMACY}
            ),
            201,
        )
        return [
            Told(
                "pharmacy",
                f"{dispensed['pharmacy']} dispensed {dispensed['medication']} "
                f"({dispensed['quantity']} units), ordered by the super-app",
            ),
            Told("super-app", "kept what was dispensed, by which pharmacy"),
        ]

    return Step("the super-app orders the medicine from the pharmacy", run)


def platform_delivery(patient: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        rx = state["rx"]
        order = expect(
            await state["browser"].post(
                f"/city-services/prescriptions/{rx['id']}/delivery", json={"address": patient.address}
            ),
            201,
        )
        return [
            Told("courier", f"parcel {order['parcel_id']} to {order['address']} (nothing else)"),
            Told("super-app", "kept her address with the order, next to what was dispensed"),
        ]

    return Step("the super-app orders the courier to her home", run)


# --- rights -----------------------------------------------------------------------------------------------


def device_login(patient: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        state["tokens"].update(await device_tokens(state, patient, DEVICE_SERVICES))
        return [
            Told(
                "identity",
                "asked for her second factor (health data: eIDAS substantial) and issued her app "
                f"one token each for {', '.join(DEVICE_SERVICES)}, each naming her by that "
                "sector's pseudonym",
            ),
            Told("super-app", "nothing (her app logged in itself)"),
        ]

    return Step("her app logs in to the hospital, her pod and the consent service itself", run, asks_citizen=True)


def open_pod() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with connection(state, "pod") as pod:
            created = await pod.post("/pods", headers={"Authorization": f"Bearer {state['tokens']['pod']}"})
        pod_info = expect(created, 200, 201)
        state["pod"] = pod_info["storage"]
        return [
            Told(
                "pod",
                f"{'created' if created.status_code == 201 else 'already holds'} her pod at {pod_info['storage']}",
            ),
            Told("super-app", "nothing"),
        ]

    return Step("her app opens her personal data pod", run)


async def signed_by_the_hospital(state: dict[str, Any], rx: dict) -> str:
    """Her app reads the prescription from her own pod and checks the hospital's signature on it against the
    key the hospital publishes: what the pharmacy will dispense is what the doctor issued."""
    url = f"{state['pod']}prescriptions/{rx['id']}"
    async with connection(state) as plain:
        document = await plain.get(
            url, headers={"Authorization": f"Bearer {state['tokens']['pod']}", "Accept": "text/turtle"}
        )
        jwks = expect(await plain.get(state["urls"]["prescriptions"] + "/.well-known/jwks.json"), 200)
    if document.status_code != 200:
        raise StepFailed(f"her pod answered {document.status_code} for {url}")
    graph = Graph().parse(data=document.text, format="turtle", publicID=url)
    signatures = [str(value) for value in graph.objects(URIRef(url), RX.signature)]
    try:
        if len(signatures) != 1:
            raise PrescriptionAltered(f"{len(signatures)} signatures")
        signed = verified_payload(signatures[0], signature_key_set(jwks))
    except PrescriptionAltered as error:
        raise StepFailed(f"the prescription in her pod is not signed by the hospital: {error}") from error
    if (signed["prescription_id"], signed["medication"], signed["quantity"]) != (
        rx["id"],
        rx["medication"],
        rx["quantity"],
    ):
        raise StepFailed("the hospital's signature in her pod is for something else than what it issued")
    return f"{signed['medication']} ×{signed['quantity']}, signed by the hospital ✓"


def rights_consultation() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, sent, received = await through_courier(
            state, "prescriptions", "POST", "/me/consultations", {"pod": state["pod"]}
        )
        if answer.status != 201:
            raise StepFailed(f"the hospital answered {answer.status}: {answer.body}")
        rx = state["rx"] = answer.body
        return [
            Told(
                "super-app",
                f"relayed a sealed envelope of {sent} bytes and the sealed answer of {received} "
                "bytes; it could open neither",
            ),
            Told(
                "hospital",
                f"issued {rx['id']} for her health-sector pseudonym, deposited it in her pod, signed "
                "with its key, under its legal basis about her (logged); keeps only the digest of what "
                "it signed, no contents; asked her consent for the pharmacy",
            ),
            Told("her app", f"received {_contents(rx)}, {yuan(rx['amount_cents'])}"),
            Told(
                "her app",
                f"read it from her pod and checked it against the hospital's published key: "
                f"{await signed_by_the_hospital(state, rx)}",
            ),
        ]

    return Step("her app has an online consultation with the hospital, through the super-app's blind courier", run)


async def _consent(state: dict[str, Any], method: str, path: str, body=None) -> Any:
    async with connection(state, "consent") as consent:
        response = await consent.request(
            method, path, json=body, headers={"Authorization": f"Bearer {state['tokens']['consent']}"}
        )
    return expect(response, 200)


def consent_prompt() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        asked = await _consent(state, "GET", "/me/artefacts?status=requested")
        prompt = next((a for a in asked if state["rx"]["id"] in a["summary"]), None)
        if prompt is None:
            raise StepFailed(f"no consent request names {state['rx']['id']}")
        given = await _consent(state, "POST", f"/me/artefacts/{prompt['id']}/status", {"status": "given"})
        index = given["events"][-1].get("ledger_index") if given.get("events") else None
        return [
            Told("her app", f"showed the prompt “{prompt['summary']}”; she tapped “allow”"),
            Told("consent ledger", f"consent {prompt['id']} given, logged at index {index}"),
            Told("super-app", "nothing"),
        ]

    return Step("the consent prompt: may the pharmacy read the prescription from her pod?", run, asks_citizen=True)


def rights_dispensation() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        rx = state["rx"]
        answer, _, _ = await through_courier(
            state, "prescriptions", "POST", f"/me/prescriptions/{rx['id']}/dispensation", {"pharmacy": PHARMACY}
        )
        if answer.status != 201:
            raise StepFailed(f"the pharmacy answered {answer.status}: {answer.body}")
        log = await _consent(state, "GET", "/me/access-log?recipient=prescriptions&limit=5")
        read = next(
            (
                e
                for e in log["entries"]
                if e["entry"].get("kind") == "access.permitted" and e["entry"].get("purpose") == "dpv:ServiceProvision"
            ),
            None,
        )
        where = f"index {read['index']} (with its inclusion proof)" if read else "no entry found"
        return [
            Told(
                "pharmacy",
                f"read the prescription from her pod under her consent, checked the hospital's "
                "signature and the digest the hospital kept (signed by the hospital ✓: a document "
                "changed in the pod is refused, 409 prescription-altered), and dispensed "
                f"{answer.body['medication']} ({answer.body['quantity']} units); the order names what, "
                "not why (no diagnosis)",
            ),
            Told(
                "consent ledger",
                f"logged the pharmacy's read before the pod released it: {where}; her app sees it in her access log",
            ),
            Told("super-app", "relayed the sealed order and the sealed answer, unread"),
        ]

    return Step("her app orders the medicine from the pharmacy (through the courier)", run)


def delivery_consent_prompt() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        rx = state["rx"]
        answer, _, _ = await through_courier(
            state, "prescriptions", "POST", f"/me/prescriptions/{rx['id']}/delivery-consent"
        )
        if answer.status != 201:
            raise StepFailed(f"the pharmacy answered {answer.status}: {answer.body}")
        asked = answer.body
        given = await _consent(state, "POST", f"/me/artefacts/{asked['consent_request']}/status", {"status": "given"})
        index = given["events"][-1].get("ledger_index") if given.get("events") else None
        return [
            Told("pharmacy", f"asked the consent service to prompt her: may {asked['recipient']} have her address?"),
            Told("her app", f"showed the prompt “{asked['summary']}”; she tapped “allow” (once)"),
            Told("consent ledger", f"consent {asked['consent_request']} given, logged at index {index}"),
            Told("super-app", "relayed the sealed request, unread"),
        ]

    return Step("the consent prompt: may the parcel courier have her address?", run, asks_citizen=True)


def rights_delivery(patient: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        rx = state["rx"]
        answer, _, _ = await through_courier(
            state, "prescriptions", "POST", f"/me/prescriptions/{rx['id']}/delivery", {"address": patient.address}
        )
        if answer.status != 201:
            raise StepFailed(f"the hospital answered {answer.status}: {answer.body}")
        return [
            Told(
                "consent ledger",
                f"logged the address passing to the parcel courier before it did: index "
                f"{answer.body['consent_ledger_index']} (her consent is now spent)",
            ),
            Told("courier", f"parcel {answer.body['parcel_id']} to {answer.body['address']} (nothing else)"),
            Told("super-app", "nothing it could read"),
        ]

    return Step("her app orders the courier to her home (through the courier)", run)


def steps(regime: Regime, cast: Cast = DEFAULT_CAST) -> list[Step]:
    if regime is Regime.PLATFORM:
        return [
            log_in(cast.citizen),
            platform_consultation(),
            pay_the_prescription(),
            pay_again(RETRY),
            platform_dispensation(),
            platform_delivery(cast.citizen),
            what_the_super_app_kept(),
        ]
    return [
        log_in(cast.citizen),
        device_login(cast.citizen),
        open_pod(),
        rights_consultation(),
        pay_the_prescription(),
        pay_again(RETRY),
        consent_prompt(),
        rights_dispensation(),
        delivery_consent_prompt(),
        rights_delivery(cast.citizen),
        what_the_super_app_kept(),
    ]
