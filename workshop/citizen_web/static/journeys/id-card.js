// The ID card, all of it in this browser: the app makes a signing key WebCrypto keeps
// non-extractable, fetches its SD-JWT card bound to that key from the identity provider with its
// own token, and shows a bar "over 18" and nothing else (static/sd_jwt.js); the bar checks the
// presentation at the identity provider's verifier (POST /credentials/verify).
import { alwaysShown, parts, present } from "../sd_jwt.js";
import { $, act, arrive, cell, hide, logInFor, pageConfig, show, token, traced } from "./device.js";

const IDENTITY = "identity";
const OVER_18 = "age_over_18";
const VERIFIER = "https://bar.example"; // the bar at the door: the audience the presentation is signed for
const config = pageConfig();

const LABELS = {
  name: "Name",
  birthdate: "Date of birth",
  resident_of: "Resident of",
  age_over_18: "Over 18",
  nationality: "Nationality",
};
const label = (name) => LABELS[name] || name;
const shown = (value) => (value === true ? "yes" : value === false ? "no" : String(value));

// For the tests and the curious: the device key (its private part a CryptoKey nobody can export).
const device = { key: null, publicJwk: null, card: null, nonce: null, presentation: null };
window.citygateIdCard = device;

async function identity(path, body, headers = {}) {
  const answer = await fetch(`${config.identityUrl}${path}`, {
    method: "POST",
    credentials: "omit",
    headers: { ...traced(), ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: answer.status, body: await answer.json().catch(() => ({})) };
}

async function getCard() {
  const held = token(IDENTITY);
  if (!held) throw new Error("Your app's key for the identity provider has expired: log in for your ID card again.");
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  device.key = pair.privateKey;
  device.publicJwk = { kty, crv, x, y };
  const answer = await identity("/credentials/id-card", { holder_jwk: device.publicJwk }, { Authorization: `Bearer ${held}` });
  if (answer.status !== 200) throw new Error(`The identity provider did not issue the card: ${answer.body.detail || answer.status}.`);
  device.card = answer.body.credential;
  const { payload, disclosures } = parts(device.card);
  const rows = [
    ...disclosures.map(({ name, value }) => [name, value]),
    ...Object.entries(alwaysShown(payload)),
  ].map(([name, value]) => {
    const row = document.createElement("tr");
    row.className = "govuk-table__row";
    row.append(cell(label(name)), cell(shown(value)));
    return row;
  });
  $("card-rows").replaceChildren(...rows);
  $("card-key").textContent =
    `Issued by ${payload.iss} to your app's key, valid until ${new Date(payload.exp * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC. ` +
    `${disclosures.length} claims, each shown only if you choose.`;
  hide("get-card");
  show("card-key", "card", "step-present");
  device.nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  $("bar-asks").textContent = `The bar (${VERIFIER}) asks you to prove you are over 18, for its question ${device.nonce}.`;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function items(id, lines) {
  $(id).replaceChildren(
    ...lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
}

async function presentOver18() {
  const made = await present(device.card, {
    disclose: new Set([OVER_18]),
    holderKey: device.key,
    holderPublicJwk: device.publicJwk,
    audience: VERIFIER,
    nonce: device.nonce,
  });
  device.presentation = made.presentation;
  items("disclosed-list", made.disclosed.map(({ name, value }) => `${label(name)}: ${shown(value)}`));
  items("hidden-list", made.withheld.map(label));
  hide("present");
  show("presented", "step-check");
}

async function check() {
  const answer = await identity("/credentials/verify", {
    presentation: device.presentation,
    audience: VERIFIER,
    nonce: device.nonce,
  });
  if (answer.status !== 200) throw new Error(`The bar's check failed: ${answer.body.detail || answer.status}.`);
  const saw = Object.entries(answer.body.disclosed);
  $("checked-title").textContent = answer.body.disclosed[OVER_18] ? "Over 18: let in" : "Not over 18";
  $("checked-text").textContent =
    `The bar verified the issuer's signature and your app's key binding. It saw ${saw.map(([name, value]) => `${label(name)}: ${shown(value)}`).join(", ")}, and nothing else.`;
  hide("check");
  show("checked");
}

async function start() {
  act("login-identity", () => logInFor(config, IDENTITY));
  act("get-card", getCard);
  act("present", presentOver18);
  act("check", check);
  await arrive(config);
  if (token(IDENTITY)) {
    hide("step-start");
    show("step-card");
  }
}

start();
