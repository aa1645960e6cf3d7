"""Journey 5, "my data" (rights regime), told step by step (docs/journeys.md): Wang Fang's app sees
her consents and who read her data — each entry proven against the ledger's signed tree head on
her own device — revokes the pharmacy's consent (the pharmacy's next read is refused) and still
sees her own prescriptions, each signed by the hospital ✓ (her own reads are hers, not the
pharmacy's). Run it after the prescriptions journey, which leaves her a consent to look at. The
platform regime offers no such page: the walkthrough shows that, and what the super-app kept instead.
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import KeySet

from consent.tree_heads import verify_tree_head
from consent.verify import own_entry_is_logged
from kernel.personas import Persona, by_handle
from kernel.regime import Regime
from workshop.journeys.cast import Cast
from workshop.journeys.common import connection, device_tokens, log_in, through_courier, what_the_super_app_kept
from workshop.narration import Step, StepFailed, Told, expect

DEFAULT_CAST = Cast(by_handle("wang-fang"))
PERSONA = DEFAULT_CAST.citizen.handle


def own_tokens(citizen: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        state["tokens"].update(await device_tokens(state, citizen, ("consent", "prescriptions")))
        return [
            Told(
                "identity",
                "issued her app one token for the consent service and one for the hospital, "
                "each naming her by that sector's pseudonym",
            ),
            Told("super-app", "nothing (the app logged in itself)"),
        ]

    return Step("her app logs in to the consent service and the hospital itself", run, asks_citizen=True)


def my_consents() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, sent, received = await through_courier(state, "consent", "GET", "/me/artefacts")
        if answer.status != 200:
            raise StepFailed(f"the consent service answered {answer.status}: {answer.body}")
        state["artefacts"] = answer.body
        if not answer.body:
            raise StepFailed("she has no consents yet: run `citygate walkthrough prescriptions --regime rights` first")
        listed = "; ".join(f"{a['controller']} {a['legal_basis']} {a['status']}" for a in answer.body)
        return [
            Told("consent service", f"showed her app {len(answer.body)} records: {listed}"),
            Told("super-app", f"relayed {sent} + {received} sealed bytes it could not open"),
        ]

    return Step("her app opens My data: her consents and the legal bases departments rely on", run)


def who_read_my_data() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, _, _ = await through_courier(state, "consent", "GET", "/me/access-log")
        async with connection(state) as plain:  # the log's key, from the log itself
            jwks = expect(await plain.get(state["urls"]["consent"] + "/.well-known/jwks.json"), 200)
        head = verify_tree_head(answer.body["tree_head"], KeySet.import_key_set(jwks))
        for entry in answer.body["entries"]:  # each opens its public commitment, which is in the signed tree
            if not own_entry_is_logged(entry, head):
                raise StepFailed(f"entry {entry['index']} is not proven to be in the signed log")
        reads = [e["entry"] for e in answer.body["entries"] if e["entry"]["kind"].startswith("access.")]
        return [
            Told(
                "her app",
                f"checked {len(answer.body['entries'])} entries against the signed tree head "
                f"(size {head.tree_size}): every one is in the log",
            ),
            Told(
                "consent service",
                "accesses to her data: "
                + (
                    "; ".join(
                        f"{e['recipient']} {'deposit' if e.get('processing') == 'dpv:Store' else 'read'} "
                        f"{e['kind'].removeprefix('access.')} ({e['category']}, {e['purpose']})"
                        for e in reads
                    )
                    or "none yet"
                ),
            ),
        ]

    return Step("her app checks who read her data, with the ledger's proofs", run)


def revoke_the_pharmacy() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        given = [
            a
            for a in state["artefacts"]
            if a["controller"] == "prescriptions"
            and a["legal_basis"] == "dpv:Consent"
            and a["status"] in ("given", "requested")
        ]
        if not given:
            raise StepFailed("no consent of the hospital's to revoke: run the prescriptions journey first")
        artefact = given[0]
        if artefact["status"] == "requested":  # give it first, so that there is something to revoke
            await through_courier(
                state, "consent", "POST", f"/me/artefacts/{artefact['id']}/status", {"status": "given"}
            )
        answer, _, _ = await through_courier(
            state, "consent", "POST", f"/me/artefacts/{artefact['id']}/status", {"status": "withdrawn"}
        )
        if answer.status != 200:
            raise StepFailed(f"the consent service answered {answer.status}: {answer.body}")
        index = answer.body["events"][-1]["ledger_index"]
        return [Told("consent service", f"withdrew the hospital's consent; ledger entry {index}")]

    return Step("she revokes the pharmacy's consent to read her prescriptions", run, asks_citizen=True)


def revocation_takes_effect() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        withdrawn = [
            a
            for a in (await through_courier(state, "consent", "GET", "/me/artefacts"))[0].body
            if a["controller"] == "prescriptions" and a["status"] == "withdrawn"
        ]
        if not withdrawn:
            raise StepFailed("the pharmacy's consent is not withdrawn")
        answer, _, _ = await through_courier(state, "prescriptions", "GET", "/me/prescriptions")
        if answer.status != 200:
            raise StepFailed(f"the hospital did not show her her own prescriptions: {answer.status} {answer.body}")
        unsigned = [p["id"] for p in answer.body if not (p.get("signature") or {}).get("verified")]
        if unsigned:
            raise StepFailed(f"prescriptions not verified as signed by the hospital: {unsigned}")
        shown = (
            "; ".join(
                f"{p['medication']} ×{p['quantity']} ({p['status']}), signed by the hospital ✓" for p in answer.body
            )
            or "none"
        )
        return [
            Told(
                "consent service",
                f"the pharmacy's consent is {withdrawn[0]['status']}: from now on its reads "
                "of her prescriptions are refused, each refusal logged",
            ),
            Told(
                "hospital",
                f"her own view is still hers (it rests on the hospital's duty to show her her "
                f"record, logged, not on the consent she withdrew): {shown}",
            ),
        ]

    return Step("the revocation takes effect at once, and her own view of her prescriptions stays hers", run)


def no_my_data_on_the_platform() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        catalogue = expect(await state["browser"].get("/catalogue"), 200)
        if any(entry["key"] == "my-data" for entry in catalogue):
            raise StepFailed("the platform's catalogue offers 'my data'")
        return [
            Told(
                "super-app",
                "offers no page of her consents or of who read her data: the user agreement "
                "she clicked through at sign-up is the only consent",
            )
        ]

    return Step("she looks for My data in the super-app", run)


def steps(regime: Regime, cast: Cast = DEFAULT_CAST) -> list[Step]:
    if regime is Regime.PLATFORM:
        return [log_in(cast.citizen), no_my_data_on_the_platform(), what_the_super_app_kept()]
    return [
        log_in(cast.citizen),
        own_tokens(cast.citizen),
        my_consents(),
        who_read_my_data(),
        revoke_the_pharmacy(),
        revocation_takes_effect(),
        what_the_super_app_kept(),
    ]
