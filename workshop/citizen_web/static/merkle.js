// RFC 9162 (Certificate Transparency 2.0) Merkle hashing and inclusion proofs, in the citizen's
// browser with WebCrypto SHA-256: the same computation as consent/merkle.py, so the page trusts
// the consent service for nothing but the signed tree head. Leaves are hashed with a 0x00 prefix,
// interior nodes with 0x01 (a leaf can never pass for a node); the audit path comes leaf side first.
// Like the Python verifier it answers false on any malformed input and never throws.

export const HASH_SIZE = 32;

async function sha256(...parts) {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

export function leafHash(entry) {
  return sha256(Uint8Array.of(0x00), entry);
}

export function nodeHash(left, right) {
  return sha256(Uint8Array.of(0x01), left, right);
}

export function fromBase64(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function sameBytes(left, right) {
  if (!(left instanceof Uint8Array) || !(right instanceof Uint8Array) || left.length !== right.length) return false;
  let difference = 0;
  for (let i = 0; i < left.length; i += 1) difference |= left[i] ^ right[i];
  return difference === 0;
}

function isHash(value) {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function isCount(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

// Halving by division, not by >>: indices are counts up to 2**53, beyond JavaScript's 32-bit shifts.
const half = (value) => Math.floor(value / 2);
const odd = (value) => value % 2 === 1;

// RFC 9162 §2.1.3.2: whether leafHash sits at leafIndex in the tree of `size` leaves whose root is `root`.
export async function verifyInclusion(leaf, leafIndex, size, path, root) {
  try {
    if (!(isHash(leaf) && isHash(root) && Array.isArray(path) && path.every(isHash))) return false;
    if (!(isCount(leafIndex) && isCount(size)) || leafIndex >= size) return false;
    let fn = leafIndex;
    let sn = size - 1;
    let r = leaf;
    for (const p of path) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        while (fn !== 0 && !odd(fn)) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && sameBytes(r, root);
  } catch {
    return false;
  }
}
