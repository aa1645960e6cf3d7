// The prescription, in this browser: the app logs in for the hospital, the citizen's pod and the
// consent service; opens her pod; has the online consultation through the blind courier (the
// hospital signs the prescription into her pod); checks the hospital's signature itself
// (signature.js); pays from the wallet; shows the pharmacy's consent request and gives it; orders
// the medicine (the pharmacy's read is logged before the pod releases it, shown from her access
// log); and, with a second consent, has the parcel courier bring it home.
import { startJourney } from "../journey_page.js";
import { askDepartment, config, departmentToken, payFromWallet, yuan } from "../session.js";
import { checkSignature, hospitalKeys, readPrescription } from "../signature.js";
import { $, act, hide, renderSeen, show } from "../ui.js";

const HOSPITAL = "prescriptions";
const DEPARTMENTS = [HOSPITAL, "pod", "consent"];
const PHARMACY = "Liwan Dashenlin Pharmacy";
const STATE = "citizen-web:prescription";

const kept = () => JSON.parse(sessionStorage.getItem(STATE) || "{}");
const keep = (update) => sessionStorage.setItem(STATE, JSON.stringify({ ...kept(), ...update }));
let lastDocument = null; // the readable fields and signature last read from the pod

// Exposed for the curious and the tests: the verifier this page runs.
window.citygateSignature = { checkSignature, hospitalKeys, readPrescription };

function summaryList(list, rows) {
  $(list).replaceChildren(
    ...rows.map(([key, value]) => {
      const row = document.createElement("div");
      row.className = "govuk-summary-list__row";
      const term = document.createElement("dt");
      term.className = "govuk-summary-list__key";
      term.textContent = key;
      const detail = document.createElement("dd");
      detail.className = "govuk-summary-list__value";
      detail.textContent = value;
      row.append(term, detail);
      return row;
    }),
  );
  $(list).hidden = false;
}

// The consent service's artefact as the citizen reads it: who, why, what (each category), how long.
function consentTerms(list, artefact) {
  summaryList(list, [
    ["Who may receive it", artefact.recipients.join(", ")],
    ["For what purpose", artefact.purposes.join(", ")],
    ["Which data", [...artefact.categories, ...artefact.resources].join(", ")],
    ["Until", new Date(artefact.valid_until).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })],
    ["On what basis", `${artefact.legal_basis}${artefact.law_reference ? ` (${artefact.law_reference})` : ""}`],
    ["Held by", artefact.controller],
  ]);
}

async function openPod() {
  const answer = await fetch(`${config.departments.pod}/pods`, {
    method: "POST",
    credentials: "omit",
    headers: { Authorization: `Bearer ${departmentToken("pod")}` },
  });
  const pod = await answer.json();
  if (!answer.ok) throw new Error(`Your pod did not open: ${pod.detail || answer.status}.`);
  keep({ storage: pod.storage });
  $("pod-where").textContent = `Your pod is at ${pod.storage}. The super-app was not asked.`;
  hide("open-pod");
  show("pod-where", "step-consultation");
}

async function consult() {
  const rx = await askDepartment(HOSPITAL, "POST", "/me/consultations", { pod: kept().storage });
  renderSeen();
  keep({ rx });
  summaryList("prescription", [
    ["Medicine", `${rx.medication}, ${rx.dose}`],
    ["Quantity", String(rx.quantity)],
    ["Diagnosis", rx.diagnosis_code],
    ["Prescribed by", rx.prescriber],
    ["Price", yuan(rx.amount_cents)],
    ["The hospital knows you as", rx.patient],
    ["Reference", rx.id],
  ]);
  hide("consult");
  show("step-signature");
}

async function readFromPod() {
  const { storage, rx } = kept();
  const url = `${storage}prescriptions/${encodeURIComponent(rx.id)}`;
  const answer = await fetch(url, {
    credentials: "omit",
    headers: { Authorization: `Bearer ${departmentToken("pod")}`, Accept: "application/ld+json" },
  });
  if (!answer.ok) throw new Error(`Your pod answered ${answer.status} for the prescription.`);
  return readPrescription(await answer.json(), url);
}

function verdict(element, result) {
  $(element).textContent = result.valid ? `✓ ${result.reason}` : `✗ ${result.reason}`;
  $(element).classList.toggle("cw-valid", result.valid);
  $(element).classList.toggle("cw-invalid", !result.valid);
  show(element);
}

async function checkTheSignature() {
  lastDocument = await readFromPod();
  const keys = await hospitalKeys(config.departments[HOSPITAL]);
  const result = await checkSignature(lastDocument.signature, lastDocument.readable, keys);
  verdict("signature-verdict", result);
  if (result.valid) show("check-changed", "step-pay");
  $("pay").textContent = `Pay ${yuan(kept().rx.amount_cents)} now`;
}

// The same check on a copy whose readable quantity was changed (as anyone who can write to the pod
// could): the hospital's signature no longer covers it.
async function checkAChangedCopy() {
  const keys = await hospitalKeys(config.departments[HOSPITAL]);
  const changed = { ...lastDocument.readable, quantity: Number(lastDocument.readable.quantity) * 10 };
  const result = await checkSignature(lastDocument.signature, changed, keys);
  $("changed-verdict").textContent = `A copy saying ${changed.quantity} units: `;
  verdict("changed-verdict", { ...result, reason: `${$("changed-verdict").textContent}${result.reason}` });
}

async function pay() {
  const { rx } = kept();
  const payment = await payFromWallet({ payee: HOSPITAL, reference: rx.id, amount_cents: rx.amount_cents });
  renderSeen();
  $("receipt").textContent = `Paid ${yuan(payment.amount_cents)} from the wallet. Receipt: ${payment.department_receipt || payment.status}.`;
  hide("pay");
  show("receipt", "step-consent");
}

async function showRequest() {
  const { rx } = kept();
  const asked = await askDepartment("consent", "GET", "/me/artefacts?status=requested");
  renderSeen();
  const request = asked.find((artefact) => artefact.summary.includes(rx.id));
  if (!request) throw new Error(`No consent request names prescription ${rx.id}.`);
  keep({ pharmacyConsent: request.id });
  $("consent-summary").textContent = request.summary;
  consentTerms("consent-terms", request);
  hide("show-request");
  show("consent-screen");
}

async function allowPharmacy() {
  const given = await askDepartment("consent", "POST", `/me/artefacts/${encodeURIComponent(kept().pharmacyConsent)}/status`, { status: "given" });
  renderSeen();
  const logged = given.events.at(-1)?.ledger_index;
  $("consent-given").textContent = `You allowed it. The consent ledger logged your consent ${given.id} at index ${logged}.`;
  hide("consent-screen");
  show("consent-given", "step-dispense");
}

async function dispense() {
  const { rx } = kept();
  const order = await askDepartment(HOSPITAL, "POST", `/me/prescriptions/${encodeURIComponent(rx.id)}/dispensation`, { pharmacy: PHARMACY });
  $("dispensed").textContent = `${order.pharmacy} dispensed ${order.medication} (${order.quantity} units). The order names what, not why.`;
  const log = await askDepartment("consent", "GET", "/me/access-log?recipient=prescriptions&limit=5");
  renderSeen();
  const read = log.entries.find((entry) => entry.entry.kind === "access.permitted");
  $("access-logged").textContent = read
    ? `Your access log: the pharmacy's read of your prescription was logged at index ${read.index}, under your consent ${read.entry.consent || kept().pharmacyConsent}, before your pod released it.`
    : "Your access log shows no read yet.";
  hide("dispense");
  show("dispensed", "access-logged", "step-delivery");
}

async function askDelivery() {
  const { rx } = kept();
  const asked = await askDepartment(HOSPITAL, "POST", `/me/prescriptions/${encodeURIComponent(rx.id)}/delivery-consent`);
  const request = await askDepartment("consent", "GET", `/me/artefacts/${encodeURIComponent(asked.consent_request)}`);
  renderSeen();
  keep({ deliveryConsent: asked.consent_request });
  $("delivery-summary").textContent = asked.summary;
  consentTerms("delivery-terms", request);
  hide("ask-delivery");
  show("delivery-screen");
}

async function allowDelivery() {
  const address = $("address").value.trim();
  if (!address) throw new Error("Enter your address for the parcel courier.");
  const { rx, deliveryConsent } = kept();
  await askDepartment("consent", "POST", `/me/artefacts/${encodeURIComponent(deliveryConsent)}/status`, { status: "given" });
  const parcel = await askDepartment(HOSPITAL, "POST", `/me/prescriptions/${encodeURIComponent(rx.id)}/delivery`, { address });
  renderSeen();
  $("delivered-text").textContent = `Parcel ${parcel.parcel_id} to ${parcel.address}. The address passed under your consent, logged at index ${parcel.consent_ledger_index}; that consent is now spent.`;
  hide("delivery-screen");
  show("delivered");
}

act("open-pod", openPod);
act("consult", consult);
act("check-signature", checkTheSignature);
act("check-changed", checkAChangedCopy);
act("pay", pay);
act("show-request", showRequest);
act("allow-pharmacy", allowPharmacy);
act("dispense", dispense);
act("ask-delivery", askDelivery);
act("allow-delivery", allowDelivery);
await startJourney({ departments: DEPARTMENTS, onReady: () => show("step-pod") });
