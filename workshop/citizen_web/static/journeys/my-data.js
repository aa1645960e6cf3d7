// "My data", all of it in this browser: the citizen's consents from the consent service (through
// the blind courier) with one-click withdrawal; the access log in Estonia's columns, each line
// proven here against the ledger's signed tree head (static/ledger.js, static/merkle.js); and the
// personal data pod, exported or erased with the app's own token for the pod.
import { throughCourier } from "../courier.js";
import { entryIsLogged, verifyTreeHead } from "../ledger.js";
import {
  $,
  act,
  arrive,
  cell,
  hide,
  logInFor,
  logInToSuperApp,
  pageConfig,
  problem,
  renderSeen,
  saw,
  show,
  superAppProfile,
  token,
  traced,
} from "./device.js";

const SEEN = "citizen-web:my-data:seen";
const CONSENT = "consent";
const POD = "pod";
const config = pageConfig();

// The consent service's words, in the citizen's.
const BASIS = {
  "dpv:Consent": "your consent",
  "dpv:LegalObligation": "a legal obligation",
  "dpv:PublicInterest": "a public task",
  "dpv:VitalInterest": "a vital interest",
  "dpv:Contract": "a contract",
};
const plain = (term) => String(term || "").replace(/^[a-z]+:/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
const list = (terms) => (terms || []).map(plain).join(", ");

async function consentService(method, path, body = null) {
  const held = token(CONSENT);
  if (!held) throw new Error("Your app's key for the consent service has expired: log in for your consents again.");
  const answer = await throughCourier(config, CONSENT, method, path, held, traced(), body);
  saw(SEEN, `${method} to the consent service: a sealed envelope of ${answer.sentBytes} bytes, a sealed answer of ${answer.receivedBytes} bytes`);
  if (answer.status !== 200) throw new Error(`The consent service answered ${answer.status}: ${answer.body && (answer.body.detail || answer.body.title)}`);
  return answer.body;
}

// --- consents ----------------------------------------------------------------------------------

const WITHDRAWABLE = { given: ["withdrawn", "Withdraw"], requested: ["refused", "Refuse"] };

function consentRow(artefact) {
  const row = document.createElement("tr");
  row.className = "govuk-table__row";
  row.dataset.artefact = artefact.id;
  const who = [artefact.controller, ...artefact.recipients.filter((r) => r !== artefact.controller)].join(" → ");
  const what = `${list(artefact.categories)} for ${list(artefact.purposes)} (${list(artefact.processing)}), until ${artefact.valid_until.slice(0, 10)}; number ${shortId(artefact.id)}`;
  const action = cell(artefact.status);
  row.append(cell(who), cell(what), cell(BASIS[artefact.legal_basis] || plain(artefact.legal_basis)), action);
  const change = artefact.legal_basis === "dpv:Consent" ? WITHDRAWABLE[artefact.status] : null;
  if (change) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "govuk-button govuk-button--warning govuk-!-margin-bottom-0 cw-row-button";
    button.textContent = change[1];
    button.setAttribute("aria-label", `${change[1]} the consent for ${artefact.controller}: ${list(artefact.purposes)}`);
    button.addEventListener("click", () => changeStatus(button, artefact, change[0]));
    action.append(document.createElement("br"), button);
  }
  return row;
}

async function showConsents() {
  const artefacts = await consentService("GET", "/me/artefacts");
  $("consents-rows").replaceChildren(...artefacts.map(consentRow));
  $("consents").hidden = artefacts.length === 0;
  $("consents-none").hidden = artefacts.length > 0;
  show("step-log");
}

async function changeStatus(button, artefact, status) {
  $("problem").hidden = true;
  button.disabled = true;
  try {
    const changed = await consentService("POST", `/me/artefacts/${encodeURIComponent(artefact.id)}/status`, { status });
    const logged = changed.events[changed.events.length - 1];
    await showConsents();
    $("revoked").textContent = `Your consent for ${changed.controller} (${list(changed.purposes)}) is now ${changed.status}` +
      (logged && logged.ledger_index != null ? `, recorded in the ledger as entry ${logged.ledger_index}.` : ".");
    show("revoked");
    $("revoked").focus();
  } catch (error) {
    button.disabled = false;
    problem(error);
  }
}

// --- the access log, proven here ---------------------------------------------------------------

let lastLog = null; // the consent service's last answer, kept to re-check tampered copies of it

function who(entry) {
  if (entry.kind.startsWith("access.")) return entry.recipient;
  if (entry.kind === "erasure") return entry.holder;
  return entry.controller;
}

function what(entry) {
  if (entry.kind.startsWith("access.")) {
    const verb = entry.processing === "dpv:Store" ? "deposited" : "read";
    const outcome = entry.kind === "access.refused" ? `refused: ${verb === "read" ? "tried to read" : "tried to deposit"}` : verb;
    return `${outcome} ${plain(entry.category)}${entry.resource ? ` (${lastSegment(entry.resource)})` : ""}`;
  }
  if (entry.kind === "erasure") return `erased ${entry.scope}`;
  const event = entry.kind === "basis.recorded" ? "legal basis recorded" : `consent ${entry.kind.replace(/^consent\./, "")}`;
  return `${event}: ${list(entry.categories)}`;
}

// a pod resource by its own name, not its long address (the pseudonym in it says nothing to her)
function lastSegment(address) {
  return String(address).replace(/\/+$/, "").split("/").pop();
}

// an artefact by the start of its id, as a receipt number is read; the whole id is its title
function shortId(id) {
  return String(id).slice(0, 8);
}

function when(at) {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d)/.exec(String(at || ""));
  return match ? `${match[3]}/${match[2]} ${match[4]}` : String(at || "");
}

function why(entry) {
  return entry.purpose ? plain(entry.purpose) : list(entry.purposes);
}

function under(entry) {
  if (entry.artefact) {
    const basis = entry.legal_basis ? ` (${BASIS[entry.legal_basis] || plain(entry.legal_basis)})` : "";
    return `${shortId(entry.artefact)}${basis}`;
  }
  return "none";
}

function underCell(entry) {
  const shown = cell(under(entry));
  if (entry.artefact) shown.title = entry.artefact;
  return shown;
}

async function renderLog(answer, keys) {
  const checked = await verifyTreeHead(answer.tree_head, keys);
  const head = checked.ok ? checked.head : null;
  $("tree-head").textContent = checked.ok
    ? `Signed tree head ✓: the ledger held ${head.tree_size} entries at ${new Date(head.timestamp).toISOString()}, signed by the consent service's published key.`
    : `Signed tree head ✗: ${checked.reason}. No line below can be trusted.`;
  $("tree-head").className = `govuk-body ${checked.ok ? "cw-proof-ok" : "cw-proof-bad"}`;
  const rows = [];
  for (const line of answer.entries) {
    const proven = head ? await entryIsLogged(line, head) : { ok: false, entry: line.entry };
    const entry = proven.entry;
    const row = document.createElement("tr");
    row.className = "govuk-table__row";
    row.dataset.index = String(line.index);
    row.dataset.proof = proven.ok ? "ok" : "bad";
    const mark = cell(proven.ok ? "✓" : "✗", proven.ok ? "cw-proof-ok" : "cw-proof-bad");
    mark.setAttribute("aria-label", proven.ok ? `entry ${line.index} proven in the ledger` : `entry ${line.index} NOT proven`);
    row.append(
      mark, // first: the verdict stays in sight when the row scrolls
      cell(when(entry.at)),
      cell(who(entry)),
      cell(what(entry)),
      cell(why(entry)),
      underCell(entry),
    );
    rows.push(row);
  }
  $("log-rows").replaceChildren(...rows);
  show("tree-head", "log");
}

let consentKeys = null;

async function showLog() {
  const answer = await fetch(`${config.departments[CONSENT]}/.well-known/jwks.json`, { credentials: "omit" });
  if (!answer.ok) throw new Error(`The consent service's published keys are not available (${answer.status}).`);
  consentKeys = await answer.json(); // from the consent service itself: the super-app cannot slip in a key
  lastLog = await consentService("GET", "/me/access-log");
  await renderLog(lastLog, consentKeys);
  $("tamper").hidden = lastLog.entries.length === 0;
  show("step-pod");
}

function copyOfLog() {
  return JSON.parse(JSON.stringify(lastLog));
}

// A copy whose newest line says another party read the data: its opening no longer matches the leaf.
async function tamperEntry() {
  const copy = copyOfLog();
  const line = copy.entries[0];
  const entry = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(line.clear), (c) => c.charCodeAt(0))));
  if (entry.recipient) entry.recipient = "nobody";
  entry.at = "2000-01-01T00:00:00Z";
  const bytes = new TextEncoder().encode(JSON.stringify(entry));
  line.clear = btoa(String.fromCharCode(...bytes));
  line.entry = entry;
  await renderLog(copy, consentKeys);
}

// A copy whose tree head claims another root: its signature no longer covers it.
async function tamperHead() {
  const copy = copyOfLog();
  const root = Uint8Array.from(atob(copy.tree_head.root_hash), (c) => c.charCodeAt(0));
  root[0] ^= 0x01;
  copy.tree_head.root_hash = btoa(String.fromCharCode(...root));
  await renderLog(copy, consentKeys);
}

// --- the pod -----------------------------------------------------------------------------------

async function pod(method, path) {
  const held = token(POD);
  if (!held) throw new Error("Your app's key for your pod has expired: log in for your pod again.");
  return fetch(`${config.departments[POD]}${path}`, {
    method,
    credentials: "omit", // the pod uses no cookies: the app's token is the whole of its access
    headers: { ...traced(), Authorization: `Bearer ${held}` },
  });
}

async function exportPod() {
  const answer = await pod("GET", "/me/pod/export");
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    throw new Error(`The pod answered ${answer.status}: ${body.detail || "no export"}.`);
  }
  const archive = await answer.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(archive);
  link.download = "my-pod.zip";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  $("exported").textContent = `Downloaded my-pod.zip (${archive.size} bytes): everything your pod holds, as files.`;
  show("exported");
}

async function erasePod() {
  hide("erase-confirm");
  const answer = await pod("DELETE", "/me/pod");
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(`The pod answered ${answer.status}: ${body.detail || "not erased"}.`);
  $("erased").textContent = `Your pod is erased: ${body.erased_resources} resources deleted. The ledger records only that it happened (entry ${body.ledger_index}).`;
  show("erased");
  hide("erase", "export");
}

// --- the page ----------------------------------------------------------------------------------

async function start() {
  renderSeen(SEEN);
  act("login-super-app", async () => logInToSuperApp(config));
  act("login-consent", () => logInFor(config, CONSENT));
  act("login-pod", () => logInFor(config, POD));
  act("show-consents", showConsents);
  act("show-log", showLog);
  act("tamper-entry", tamperEntry);
  act("tamper-head", tamperHead);
  act("export", exportPod);
  act("erase", async () => {
    show("erase-confirm");
    $("erase-yes").focus();
  });
  act("erase-no", async () => hide("erase-confirm"));
  act("erase-yes", erasePod);

  await arrive(config);
  const profile = await superAppProfile(config);
  if (!profile) return;
  hide("step-start");
  $("super-app-who").textContent = `You are logged in to the super-app. It knows you as ${profile.sub}.`;
  show("step-device");
  if (token(CONSENT)) {
    hide("login-consent");
    show("consent-done", "login-pod");
  }
  if (token(POD)) hide("login-pod");
  if (token(POD)) show("pod-done");
  if (token(CONSENT) && token(POD)) show("step-consents");
}

start();
