// The rights phone's fines journey, all of it in this browser: log in to the super-app (its own
// page, then back here), let this app log in for the traffic police, look the fines up through the
// blind courier, pay from the super-app wallet, check at the traffic police that it is paid.
import { throughCourier, inspection } from "./courier.js";
import { finishLogin, startLogin } from "./oauth.js";

const TOKEN = "citizen-web:fines-token";
const SEEN = "citizen-web:seen";
const FINE = "citizen-web:fine";
const LOGGED_IN = "citizen-web:super-app";
const DEPARTMENT = "fines";

const main = document.getElementById("main-content");
const config = {
  gatewayUrl: main.dataset.gatewayUrl,
  identityUrl: main.dataset.identityUrl,
  departments: JSON.parse(main.dataset.departments),
};
window.citygateCourier = inspection; // tests check the reply key is non-extractable

const $ = (id) => document.getElementById(id);

// A W3C trace context per action: the stage draws the calls this action caused.
function traced() {
  const hex = (bytes) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  return { traceparent: `00-${hex(16)}-${hex(8)}-01` };
}

function yuan(cents) {
  return `¥${(cents / 100).toFixed(2)}`;
}

function show(...ids) {
  for (const id of ids) $(id).hidden = false;
}

function problem(error) {
  $("problem-text").textContent = error instanceof Error ? error.message : String(error);
  $("problem").hidden = false;
  $("problem").focus();
}

function stored(key, fallback) {
  const raw = sessionStorage.getItem(key);
  return raw ? JSON.parse(raw) : fallback;
}

function saw(line) {
  const seen = [...stored(SEEN, []), line];
  sessionStorage.setItem(SEEN, JSON.stringify(seen));
  renderSeen();
}

function renderSeen() {
  const seen = stored(SEEN, []);
  $("seen-none").hidden = seen.length > 0;
  $("seen-list").replaceChildren(
    ...seen.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
}

function token() {
  const held = stored(TOKEN, null);
  return held && held.expiresAt > Date.now() + 5000 ? held.accessToken : null;
}

function persona() {
  return $("persona").value.trim();
}

function withPersona(path) {
  return persona() ? `${path}?persona=${encodeURIComponent(persona())}` : path;
}

async function superAppProfile() {
  const answer = await fetch(`${config.gatewayUrl}/me/profile`, { credentials: "include", headers: traced() });
  return answer.ok ? answer.json() : null;
}

async function courier(method, path) {
  const held = token();
  if (!held) throw new Error("Your app's access for the traffic police has expired: log in for traffic fines again.");
  const answer = await throughCourier(config, DEPARTMENT, method, path, held, traced());
  saw(`${method} to the traffic police: a sealed envelope of ${answer.sentBytes} bytes, a sealed answer of ${answer.receivedBytes} bytes`);
  if (answer.status !== 200) throw new Error(`The traffic police answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

function cell(text, numeric = false, nowrap = true) {
  const td = document.createElement("td");
  td.className = `govuk-table__cell${numeric ? " govuk-table__cell--numeric" : ""}${nowrap ? " cw-nowrap" : ""}`;
  td.textContent = text;
  return td;
}

function renderFines(fines) {
  $("fines-rows").replaceChildren(
    ...fines.map((fine) => {
      const row = document.createElement("tr");
      row.className = "govuk-table__row";
      row.append(cell(`${fine.offence}, ${fine.place}`, false, false), cell(fine.plate), cell(yuan(fine.amount_cents), true), cell(fine.status));
      return row;
    }),
  );
  $("fines").hidden = false;
}

let finesShown = [];

async function lookUp() {
  const fines = await courier("GET", "/me/fines");
  finesShown = fines;
  renderFines(fines);
  const unpaid = fines.find((fine) => fine.status !== "paid");
  if (!unpaid) {
    $("pay-what").textContent = "You have no unpaid fine.";
    show("step-pay");
    $("pay").hidden = true;
    return;
  }
  sessionStorage.setItem(FINE, JSON.stringify(unpaid));
  $("pay-what").textContent = `Pay ${yuan(unpaid.amount_cents)} for ${unpaid.offence} (${unpaid.plate}), reference ${unpaid.id}.`;
  $("pay").textContent = `Pay ${yuan(unpaid.amount_cents)} now`;
  show("step-pay");
}

async function pay() {
  const fine = stored(FINE, null);
  const bill = { payee: DEPARTMENT, reference: String(fine.id), amount_cents: fine.amount_cents };
  const answer = await fetch(`${config.gatewayUrl}/wallet/payments`, {
    method: "POST",
    credentials: "include",
    headers: { ...traced(), "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify(bill),
  });
  const payment = await answer.json();
  if (!answer.ok) throw new Error(`The wallet did not pay: ${payment.detail || answer.status}.`);
  saw(`a wallet payment in clear: payee ${payment.payee}, reference ${payment.reference}, ${yuan(payment.amount_cents)}`);
  $("receipt").textContent = `Paid ${yuan(payment.amount_cents)} from the wallet. Receipt: ${payment.department_receipt || payment.status}.`;
  $("pay").hidden = true;
  show("receipt", "step-check");
}

async function check() {
  const fine = stored(FINE, null);
  const answer = await courier("GET", `/me/fines/${encodeURIComponent(fine.id)}`);
  if (answer.status !== "paid") throw new Error(`The traffic police still have the fine as ${answer.status}.`);
  $("paid-text").textContent = `The traffic police confirm fine ${answer.id} (${yuan(answer.amount_cents)}) is paid.`;
  $("check").hidden = true;
  show("paid");
  renderFines(finesShown.map((shown) => (shown.id === answer.id ? answer : shown)));
}

function act(button, action) {
  $(button).addEventListener("click", async () => {
    $("problem").hidden = true;
    $(button).disabled = true;
    try {
      await action();
    } catch (error) {
      problem(error);
    } finally {
      $(button).disabled = false;
    }
  });
}

async function start() {
  // a login that another page of the app started (static/journeys/device.js) goes back to that page
  const startedAt = sessionStorage.getItem("citizen-web:login-return");
  sessionStorage.removeItem("citizen-web:login-return");
  if (window.location.pathname === "/callback" && startedAt && /^\/journeys\/[a-z-]+$/.test(startedAt)) {
    window.location.replace(`${startedAt}${window.location.search}`);
    return;
  }
  renderSeen();
  const query = new URLSearchParams(window.location.search);
  if (query.get("persona")) sessionStorage.setItem("citizen-web:persona", query.get("persona"));
  $("persona").value = query.get("persona") || sessionStorage.getItem("citizen-web:persona") || "";

  act("login-super-app", async () => {
    sessionStorage.setItem(LOGGED_IN, "asked"); // back from the gateway, the page asks who it knows
    const back = `${window.location.origin}${withPersona("/")}`;
    window.location.assign(`${config.gatewayUrl}/login?return_to=${encodeURIComponent(back)}`);
  });
  act("login-fines", () => startLogin(config, DEPARTMENT, persona(), window.location.search));
  act("look-up", lookUp);
  act("pay", pay);
  act("check", check);

  try {
    const login = await finishLogin(config, traced());
    if (login) {
      sessionStorage.setItem(TOKEN, JSON.stringify({ accessToken: login.accessToken, expiresAt: login.expiresAt }));
      // off the callback address at once: the used code stays out of the history
      window.history.replaceState(null, "", `/${login.returnQuery || ""}`);
      const again = new URLSearchParams(login.returnQuery || "").get("persona");
      if (again) $("persona").value = again;
    }
  } catch (error) {
    window.history.replaceState(null, "", "/");
    problem(error);
  }
  // asked only after a login was started here: a page that never logged in has no session to check
  // (and a 401 would be a console error for nothing)
  if (!sessionStorage.getItem(LOGGED_IN)) return;
  const profile = await superAppProfile().catch(() => null);
  if (!profile) {
    sessionStorage.removeItem(LOGGED_IN);
    return;
  }
  $("step-start").hidden = true;
  $("super-app-who").textContent = `You are logged in to the super-app. It knows you as ${profile.sub}.`;
  show("step-device");
  if (token()) {
    $("login-fines").hidden = true;
    $("device-done").textContent = "Your app holds a key that only the traffic police accept, for a few minutes.";
    show("device-done", "step-lookup");
  }
}

start();
