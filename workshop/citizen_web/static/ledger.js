// The citizen's side of the transparency ledger (consent/verify.py's own_entry_is_logged, in the
// browser): the tree head is trusted only once its signature verifies against the consent
// service's published key; each access-log line only once its clear form and salt open the public
// leaf's commitment and that leaf's inclusion proof leads to the signed root.
import { compactVerify, createLocalJWKSet } from "/assets/vendor/jose/index.js";
import { fromBase64, leafHash, sameBytes, toBase64, verifyInclusion } from "./merkle.js";

const TREE_HEAD_TYPE = "tree-head+jws";
const SIGNED_MEMBERS = ["log_id", "root_hash", "timestamp", "tree_size"]; // sorted: RFC 8785 order
const LEAF_VERSION = 2;
const SALT_BYTES = 32;

// RFC 8785 for what is signed here: objects, strings and integers (JSON.stringify's string
// escaping is the one RFC 8785 prescribes; keys sorted by UTF-16 code units, as sort() does).
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

// The signed tree head, checked: { ok, head, reason }. Signature (ES256, typ tree-head+jws, a key
// of the consent service's JWKS) and every member exactly as signed, in canonical form.
export async function verifyTreeHead(head, jwks) {
  try {
    const { payload, protectedHeader } = await compactVerify(head.signature, createLocalJWKSet(jwks), {
      algorithms: ["ES256"],
    });
    if (protectedHeader.typ !== TREE_HEAD_TYPE) return { ok: false, reason: "not a tree head signature" };
    const text = new TextDecoder().decode(payload);
    const signed = JSON.parse(text);
    const members = Object.fromEntries(SIGNED_MEMBERS.map((name) => [name, head[name]]));
    if (canonical(signed) !== text || canonical(signed) !== canonical(members)) {
      return { ok: false, reason: "the tree head's members differ from what was signed" };
    }
    return { ok: true, head: members };
  } catch (error) {
    return { ok: false, reason: `the signature does not verify (${error.code || error.name})` };
  }
}

async function publicLeaf(salt, clear) {
  const key = await crypto.subtle.importKey("raw", salt, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const commitment = new Uint8Array(await crypto.subtle.sign("HMAC", key, clear));
  return new TextEncoder().encode(canonical({ v: LEAF_VERSION, commitment: toBase64(commitment) }));
}

// One line of /me/access-log against a verified head: { ok, entry } with the entry as the
// proven clear bytes say (never the server's decoded copy, which is only compared).
export async function entryIsLogged(line, head) {
  try {
    const leaf = fromBase64(line.leaf);
    const clear = fromBase64(line.clear);
    const salt = fromBase64(line.salt);
    const entry = JSON.parse(new TextDecoder().decode(clear));
    const opens = salt.length === SALT_BYTES && sameBytes(await publicLeaf(salt, clear), leaf);
    const agrees = canonical(entry) === canonical(line.entry);
    const included = await verifyInclusion(
      await leafHash(leaf),
      line.index,
      head.tree_size,
      line.inclusion_path.map(fromBase64),
      fromBase64(head.root_hash),
    );
    return { ok: opens && agrees && included, entry };
  } catch {
    return { ok: false, entry: line.entry };
  }
}
