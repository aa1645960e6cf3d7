// The hospital's signature on a prescription, checked in this browser (services/prescriptions/
// pod_document.py, docs/pod.md): the document in the citizen's pod holds readable triples and the
// hospital's signed statement beside them (rx:signature, a compact JWS, ES256, typ
// "prescription+jws", over the canonical JSON of the contents). The app fetches the hospital's
// published keys from the hospital itself, verifies the JWS with jose, and compares what was signed
// with what the document says: a changed word in the pod, or a changed signature, is a ✗.
import { compactVerify, createLocalJWKSet } from "/assets/vendor/jose/index.js";

const RX = "https://citygate.example/ns/prescription#";
const SIGNATURE_TYPE = "prescription+jws";
const SIGNED_BY = "prescriptions";
// readable predicate -> the signed payload's field
const COMPARED = { identifier: "prescription_id", medication: "medication", dose: "dose", quantity: "quantity", prescriber: "prescriber", diagnosis: "diagnosis_code" };

// The prescription document as expanded JSON-LD (the pod's application/ld+json): its readable
// fields and its signature.
export function readPrescription(jsonld, url) {
  const nodes = Array.isArray(jsonld) ? jsonld : jsonld["@graph"] || [jsonld];
  const node = nodes.find((candidate) => candidate["@id"] === url) || nodes.find((candidate) => (candidate["@type"] || []).includes(`${RX}Prescription`));
  if (!node) throw new Error("The pod's document is not a prescription.");
  const value = (name) => {
    const values = node[`${RX}${name}`] || [];
    return values.length === 1 ? values[0]["@value"] : undefined;
  };
  const readable = Object.fromEntries(Object.keys(COMPARED).map((name) => [name, value(name)]));
  return { readable, signature: value("signature") };
}

export async function hospitalKeys(hospitalUrl) {
  const answer = await fetch(`${hospitalUrl}/.well-known/jwks.json`, { credentials: "omit" });
  if (!answer.ok) throw new Error(`The hospital's keys are not available (${answer.status}).`);
  return answer.json();
}

// { valid, reason, signed }: whether `signature` is the hospital's over exactly `readable`.
export async function checkSignature(signature, readable, keys) {
  if (typeof signature !== "string" || !signature) return { valid: false, reason: "the document carries no signature", signed: null };
  let verified;
  try {
    verified = await compactVerify(signature, createLocalJWKSet(keys), { algorithms: ["ES256"] });
  } catch (error) {
    return { valid: false, reason: `the signature does not verify with the hospital's key (${error.code || error.message})`, signed: null };
  }
  if (verified.protectedHeader.typ !== SIGNATURE_TYPE) return { valid: false, reason: "not a signed prescription", signed: null };
  const signed = JSON.parse(new TextDecoder().decode(verified.payload));
  if (signed.iss !== SIGNED_BY) return { valid: false, reason: "signed for another issuer", signed };
  for (const [name, field] of Object.entries(COMPARED)) {
    if (String(readable[name]) !== String(signed[field])) {
      return { valid: false, reason: `the document's ${name} is not what the hospital signed`, signed };
    }
  }
  return { valid: true, reason: "signed by the hospital", signed };
}
