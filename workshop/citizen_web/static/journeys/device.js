// What the my-data and id-card pages share beyond ui.js and session.js (whose helpers they take from
// here too): the citizen's persona, one token per service the app logged in for (this tab only),
// the login's return to the page that started it, and what the super-app saw.
import { finishLogin, startLogin } from "../oauth.js";
import { readConfig, traced } from "../session.js";
import { $, problem } from "../ui.js";

// The page helpers every journey shares, from their one home (ui.js, session.js)
export { $, act, hide, problem, show } from "../ui.js";
export { traced } from "../session.js";

const TOKEN_PREFIX = "citizen-web:token:";
const PERSONA = "citizen-web:persona";
const SUPER_APP = "citizen-web:super-app";

// The services this page talks to (session.js reads them off <main>)
export const pageConfig = readConfig;

export function persona() {
  return $("persona") ? $("persona").value.trim() : sessionStorage.getItem(PERSONA) || "";
}

export function token(service) {
  const raw = sessionStorage.getItem(TOKEN_PREFIX + service);
  const held = raw ? JSON.parse(raw) : null;
  return held && held.expiresAt > Date.now() + 5000 ? held.accessToken : null;
}

// Log in for `service` as the app itself; /callback (callback.js) redeems the answer, keeps the token
// where token() reads it and comes back to this very page.
export function logInFor(config, service) {
  const query = persona() ? `?persona=${encodeURIComponent(persona())}` : "";
  return startLogin(config, service, persona(), `${window.location.pathname}${query}`);
}

// Log in to the super-app (its own login page, then back here).
export function logInToSuperApp(config) {
  sessionStorage.setItem(SUPER_APP, "asked");
  const query = persona() ? `?persona=${encodeURIComponent(persona())}` : "";
  const back = `${window.location.origin}${window.location.pathname}${query}`;
  window.location.assign(`${config.gatewayUrl}/login?return_to=${encodeURIComponent(back)}`);
}

// On load: the persona from ?persona=, and a login's answer (code) redeemed and kept.
export async function arrive(config) {
  const query = new URLSearchParams(window.location.search);
  if (query.get("persona")) sessionStorage.setItem(PERSONA, query.get("persona"));
  if ($("persona")) $("persona").value = query.get("persona") || sessionStorage.getItem(PERSONA) || "";
  try {
    const login = await finishLogin(config, traced());
    if (login) {
      sessionStorage.setItem(
        TOKEN_PREFIX + login.department,
        JSON.stringify({ accessToken: login.accessToken, expiresAt: login.expiresAt }),
      );
      // off the address with the code at once: the used code stays out of the history
      window.history.replaceState(null, "", `${window.location.pathname}${login.returnQuery || ""}`);
      const again = new URLSearchParams(login.returnQuery || "").get("persona");
      if (again && $("persona")) $("persona").value = again;
    }
  } catch (error) {
    window.history.replaceState(null, "", window.location.pathname);
    problem(error);
  }
}

// Who the super-app knows, if this tab logged in to it (never asked otherwise: a 401 would be a
// console error for nothing).
export async function superAppProfile(config) {
  if (!sessionStorage.getItem(SUPER_APP)) return null;
  const answer = await fetch(`${config.gatewayUrl}/me/profile`, { credentials: "include", headers: traced() }).catch(
    () => null,
  );
  if (!answer || !answer.ok) {
    sessionStorage.removeItem(SUPER_APP);
    return null;
  }
  return answer.json();
}

export function cell(text, className = "") {
  const td = document.createElement("td");
  td.className = `govuk-table__cell ${className}`.trim();
  td.textContent = text;
  return td;
}

export function seenList(key) {
  const raw = sessionStorage.getItem(key);
  return raw ? JSON.parse(raw) : [];
}

// "What the super-app saw": one line per thing it relayed or learned, kept for this tab.
export function saw(key, line) {
  sessionStorage.setItem(key, JSON.stringify([...seenList(key), line]));
  renderSeen(key);
}

export function renderSeen(key) {
  const seen = seenList(key);
  $("seen-none").hidden = seen.length > 0;
  $("seen-list").replaceChildren(
    ...seen.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }),
  );
}
