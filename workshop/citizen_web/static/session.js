// What every journey page shares, kept in this tab's sessionStorage: which services the page talks
// to, the persona the stage asked for, the super-app login (the gateway's own cookie; this app only
// remembers that it asked), one access token per department (this app's own login for it), and
// what the super-app got to see. No DOM here: ui.js draws, journey_page.js wires the login steps.
import { throughCourier } from "./courier.js";
import { startLogin } from "./oauth.js";

const KEY = "citizen-web:";
const PERSONA = `${KEY}persona`;
const SUPER_APP = `${KEY}super-app`;
const SEEN = `${KEY}seen`;
const tokenKey = (department) => `${KEY}token:${department}`;

// How the page names each department to the citizen.
export const DEPARTMENT_TITLES = {
  fines: "the traffic police",
  appointments: "the civil registry",
  prescriptions: "the hospital",
  consent: "the consent service",
  pod: "your pod",
};

export function departmentTitle(department) {
  return DEPARTMENT_TITLES[department] || department;
}

// The services this page talks to, as the server wrote them on <main>.
export function readConfig() {
  const main = document.getElementById("main-content");
  return {
    gatewayUrl: main.dataset.gatewayUrl,
    identityUrl: main.dataset.identityUrl,
    departments: JSON.parse(main.dataset.departments),
  };
}

export const config = readConfig();

function stored(key, fallback) {
  const raw = sessionStorage.getItem(key);
  return raw ? JSON.parse(raw) : fallback;
}

// A W3C trace context per action: the stage draws the calls this action caused.
export function traced() {
  const hex = (bytes) =>
    Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  return { traceparent: `00-${hex(16)}-${hex(8)}-01` };
}

// This page's address (path and query): where a login comes back to.
export function here() {
  return `${window.location.pathname}${window.location.search}`;
}

// A path of this app to go back to, or the home page: never another origin ("//x", "/\x").
export function ownPath(value) {
  return typeof value === "string" && /^\/(?![/\\])/.test(value) ? value : "/";
}

// The persona asked for (?persona=, else the one remembered in this tab). Another persona than the
// one remembered is another person on this phone: the previous one's tokens and history are dropped.
export function currentPersona() {
  const asked = new URLSearchParams(window.location.search).get("persona");
  const remembered = sessionStorage.getItem(PERSONA);
  if (asked && asked !== remembered) {
    forgetEverything();
    sessionStorage.setItem(PERSONA, asked);
  }
  return asked || remembered || "";
}

export function rememberPersona(handle) {
  if (handle && handle !== sessionStorage.getItem(PERSONA)) {
    forgetEverything();
    sessionStorage.setItem(PERSONA, handle);
  }
}

export function forgetEverything() {
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(KEY)) sessionStorage.removeItem(key);
  }
}

// --- the super-app login (the gateway's page, then back to `returnPath`) --------------------------------

export function logInToSuperApp(returnPath, loginHint) {
  sessionStorage.setItem(SUPER_APP, "asked"); // back from the gateway, the page asks who it knows
  const query = new URLSearchParams({ return_to: `${window.location.origin}${ownPath(returnPath)}` });
  if (loginHint && /^[a-z0-9][a-z0-9-]{0,39}$/.test(loginHint)) query.set("login_hint", loginHint);
  window.location.assign(`${config.gatewayUrl}/login?${query}`);
}

// Who the super-app knows (its pseudonymous subject), or null. Asked only after a login was started
// here: a page that never logged in has no session to check (and a 401 is a console error for nothing).
export async function superAppProfile() {
  if (!sessionStorage.getItem(SUPER_APP)) return null;
  const answer = await fetch(`${config.gatewayUrl}/me/profile`, { credentials: "include", headers: traced() }).catch(
    () => null,
  );
  if (answer && answer.ok) return answer.json();
  sessionStorage.removeItem(SUPER_APP);
  return null;
}

// --- this app's own login per department (oauth.js), its token kept for this tab ---------------------

export function logInForDepartment(department, loginHint, returnPath = here()) {
  return startLogin(config, department, loginHint, ownPath(returnPath));
}

export function keepDepartmentToken(login) {
  sessionStorage.setItem(
    tokenKey(login.department),
    JSON.stringify({ accessToken: login.accessToken, expiresAt: login.expiresAt, subject: login.subject }),
  );
}

// The department's access token while it has more than a few seconds left; null otherwise.
export function departmentToken(department) {
  const held = stored(tokenKey(department), null);
  return held && held.expiresAt > Date.now() + 5000 ? held.accessToken : null;
}

// The pseudonym the department knows this citizen by (the ID token's subject for its sector).
export function departmentSubject(department) {
  const held = stored(tokenKey(department), null);
  return held ? held.subject : null;
}

// --- what the super-app sees -----------------------------------------------------------------------------

export function seenBySuperApp() {
  return stored(SEEN, []);
}

export function recordSeen(line) {
  sessionStorage.setItem(SEEN, JSON.stringify([...seenBySuperApp(), line]));
}

// One request to `department` through the blind courier, with this app's token for it; the
// answer's body when the department says 2xx, an Error with its problem otherwise.
export async function askDepartment(department, method, path, body = null) {
  const token = departmentToken(department);
  if (!token) throw new Error(`Your app's access for ${departmentTitle(department)} has expired: log in for it again.`);
  const answer = await throughCourier(config, department, method, path, token, traced(), body);
  recordSeen(
    `${method} to ${departmentTitle(department)}: a sealed envelope of ${answer.sentBytes} bytes, a sealed answer of ${answer.receivedBytes} bytes`,
  );
  if (answer.status < 200 || answer.status > 299) {
    const detail = answer.body && (answer.body.detail || answer.body.title);
    throw new Error(`${departmentTitle(department)} answered ${answer.status}: ${detail || JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

// A payment from the super-app wallet: the one thing it learns in clear (payee, reference, amount).
export async function payFromWallet(bill) {
  const answer = await fetch(`${config.gatewayUrl}/wallet/payments`, {
    method: "POST",
    credentials: "include",
    headers: { ...traced(), "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify(bill),
  });
  const payment = await answer.json();
  if (!answer.ok) throw new Error(`The wallet did not pay: ${payment.detail || answer.status}.`);
  recordSeen(
    `a wallet payment in clear: payee ${payment.payee}, reference ${payment.reference}, ${yuan(payment.amount_cents)}`,
  );
  return payment;
}

export function yuan(cents) {
  return `¥${(cents / 100).toFixed(2)}`;
}
