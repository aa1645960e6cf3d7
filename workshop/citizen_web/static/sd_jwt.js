// The holder's side of the SD-JWT ID card (RFC 9901; kernel/sd_jwt/holder.py is the same in
// Python): the card as issued is `<issuer-jwt>~<disclosure>~...~`; a presentation keeps the
// issuer-signed JWT, only the disclosures the citizen chose, and ends with a Key Binding JWT signed
// by the device's own key over the verifier (aud), its nonce, the moment (iat) and a digest of
// exactly what is presented (sd_hash), so the verifier can neither learn more nor replay it.
import { SignJWT, calculateJwkThumbprint, decodeJwt } from "/assets/vendor/jose/index.js";

const SEPARATOR = "~";
const KB_JWT_TYPE = "kb+jwt";

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

// base64url(SHA-256(ASCII text)): how both _sd digests and the KB-JWT's sd_hash are taken.
export async function digestOf(text) {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

// A card (or presentation) taken apart: the issuer-signed JWT, its payload, each disclosure with
// its claim name and value, and the key binding JWT if there is one.
export function parts(sdJwt) {
  const [issuerJwt, ...rest] = sdJwt.split(SEPARATOR);
  const keyBinding = rest.pop() || "";
  const disclosures = rest.map((encoded) => {
    const [salt, name, value] = JSON.parse(new TextDecoder().decode(fromBase64url(encoded)));
    return { encoded, salt, name, value };
  });
  return { issuerJwt, payload: decodeJwt(issuerJwt), disclosures, keyBinding };
}

// The claims a card holds in clear for anyone who sees it (not selectively disclosable).
export function alwaysShown(payload) {
  const machinery = new Set(["iss", "iat", "exp", "nbf", "vct", "cnf", "_sd", "_sd_alg"]);
  return Object.fromEntries(Object.entries(payload).filter(([name]) => !machinery.has(name)));
}

// The presentation for one verifier, disclosing only the claims named in `disclose`. Refuses a
// card bound to another key, or a claim the card does not have, as the Python holder does.
export async function present(card, { disclose, holderKey, holderPublicJwk, audience, nonce }) {
  const { issuerJwt, payload, disclosures, keyBinding } = parts(card);
  if (keyBinding) throw new Error("This is already a presentation: present the card as issued.");
  const bound = payload.cnf && payload.cnf.jwk;
  if (!bound || (await calculateJwkThumbprint(bound)) !== (await calculateJwkThumbprint(holderPublicJwk))) {
    throw new Error("The card is not bound to this device's key.");
  }
  const names = new Set(disclosures.map((disclosure) => disclosure.name));
  const missing = [...disclose].filter((name) => !names.has(name) && !(name in alwaysShown(payload)));
  if (missing.length) throw new Error(`The card has no ${missing.join(", ")} to disclose.`);
  const chosen = disclosures.filter((disclosure) => disclose.has(disclosure.name));
  const presented = [issuerJwt, ...chosen.map((disclosure) => disclosure.encoded), ""].join(SEPARATOR);
  const kbJwt = await new SignJWT({ nonce, sd_hash: await digestOf(presented) })
    .setProtectedHeader({ alg: "ES256", typ: KB_JWT_TYPE })
    .setIssuedAt()
    .setAudience(audience)
    .sign(holderKey);
  return {
    presentation: presented + kbJwt,
    disclosed: chosen.map(({ name, value }) => ({ name, value })),
    withheld: disclosures.filter((disclosure) => !disclose.has(disclosure.name)).map(({ name }) => name),
  };
}
