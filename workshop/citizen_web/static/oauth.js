// The citizen's app logs in for one department itself: OAuth 2.0 authorization code with PKCE (S256)
// as the public client "citizen-app" (RFC 8252), resource=urn:citygate:<department> (RFC 8707).
// The code is redeemed from this page (the identity provider allows this origin on its token
// endpoint) and the ID token checked here: signature (the provider's published keys), issuer,
// audience, expiry and nonce.
import { createRemoteJWKSet, jwtVerify } from "/assets/vendor/jose/index.js";

export const CLIENT_ID = "citizen-app";
const PENDING = "citizen-web:pending-login";

function randomText(bytes) {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(buffer);
}

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function s256(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function redirectUri() {
  return `${window.location.origin}/callback`;
}

// Go to the identity provider; it comes back to /callback with a code for this very request.
export async function startLogin(config, department, loginHint, returnQuery) {
  const pending = {
    department,
    state: randomText(16),
    nonce: randomText(16),
    verifier: randomText(48),
    returnQuery,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: "openid",
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: "S256",
    resource: `urn:citygate:${department}`,
  });
  if (loginHint) query.set("login_hint", loginHint);
  window.location.assign(`${config.identityUrl}/authorize?${query}`);
}

// On /callback: the answer to the pending request, redeemed and checked; null when there is none.
export async function finishLogin(config, headers) {
  const params = new URLSearchParams(window.location.search);
  const raw = sessionStorage.getItem(PENDING);
  if (!params.has("code") && !params.has("error")) return null;
  sessionStorage.removeItem(PENDING); // one answer per request, whatever happens next
  const pending = raw ? JSON.parse(raw) : null;
  if (!pending || params.get("state") !== pending.state) {
    throw new Error("The login answer does not belong to a login this app started.");
  }
  if (params.has("error")) {
    throw new Error(`The login ended without access: ${params.get("error_description") || params.get("error")}.`);
  }
  const answer = await fetch(`${config.identityUrl}/oauth2/token`, {
    method: "POST",
    headers,
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
      client_id: CLIENT_ID,
      resource: `urn:citygate:${pending.department}`,
    }),
  });
  const tokens = await answer.json();
  if (!answer.ok) throw new Error(`The identity provider refused the code: ${tokens.error_description || tokens.error}.`);
  const keys = createRemoteJWKSet(new URL(`${config.identityUrl}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(tokens.id_token, keys, {
    issuer: config.identityUrl,
    audience: CLIENT_ID,
    algorithms: ["ES256"],
  });
  if (payload.nonce !== pending.nonce) throw new Error("The ID token answers another login (nonce).");
  return {
    department: pending.department,
    accessToken: tokens.access_token,
    expiresAt: Date.now() + Number(tokens.expires_in) * 1000,
    subject: payload.sub,
    returnQuery: pending.returnQuery,
  };
}
