// The blind courier, the device's side (kernel/courier.py is the department's): the request is
// sealed here to the department's published key, the super-app gateway relays the envelope with
// the citizen's super-app session, and the answer is opened here with a one-time reply key that
// WebCrypto made non-extractable: not even this page's own script can read its private part.
import { CompactEncrypt, calculateJwkThumbprint, compactDecrypt, importJWK } from "/assets/vendor/jose/index.js";

const ALG = "ECDH-ES+A256KW";
const ENC = "A256GCM";
const TYP = "courier+jwe";

// For the tests and the curious: the last reply key (a CryptoKey: its private part stays unreadable).
export const inspection = { lastReplyKey: null };

// The department's encryption key, fetched from the department itself: the gateway never hands
// it over, so it cannot slip in a key of its own and read what it relays.
async function departmentKey(departmentUrl) {
  const answer = await fetch(`${departmentUrl}/.well-known/jwks.json`, { credentials: "omit" });
  if (!answer.ok) throw new Error(`The department's keys are not available (${answer.status}).`);
  const entry = (await answer.json()).keys.find(
    (key) => key.use === "enc" && key.alg === ALG && key.kty === "EC" && key.crv === "P-256" && !("d" in key),
  );
  if (!entry) throw new Error("The department publishes no encryption key.");
  const kid = entry.kid || (await calculateJwkThumbprint(entry));
  return { key: await importJWK(entry, ALG), kid };
}

// One request through the courier: { status, body, sentBytes, receivedBytes }.
export async function throughCourier(config, department, method, path, token, headers, body = null) {
  const { key, kid } = await departmentKey(config.departments[department]);
  const reply = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  inspection.lastReplyKey = reply.privateKey;
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", reply.publicKey); // the public half only
  const request = {
    method,
    path,
    body,
    token,
    idempotency_key: null,
    reply_key: { kty, crv, x, y },
    sent_at: Math.floor(Date.now() / 1000),
  };
  const envelope = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(request)))
    .setProtectedHeader({ alg: ALG, enc: ENC, typ: TYP, kid })
    .encrypt(key);
  const relayed = await fetch(`${config.gatewayUrl}/courier/${encodeURIComponent(department)}`, {
    method: "POST",
    credentials: "include", // the super-app session: the gateway relays only for a logged-in citizen
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({ envelope }),
  });
  const outer = await relayed.json();
  if (!relayed.ok) throw new Error(`The super-app did not relay it: ${outer.detail || relayed.status}.`);
  const { plaintext, protectedHeader } = await compactDecrypt(outer.envelope, reply.privateKey, {
    keyManagementAlgorithms: [ALG],
    contentEncryptionAlgorithms: [ENC],
  });
  if (protectedHeader.typ !== TYP) throw new Error("The answer is not a courier envelope.");
  const answer = JSON.parse(new TextDecoder().decode(plaintext));
  return { status: answer.status, body: answer.body, sentBytes: envelope.length, receivedBytes: outer.envelope.length };
}
