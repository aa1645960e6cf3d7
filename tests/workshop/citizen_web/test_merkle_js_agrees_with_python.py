"""The browser's ledger checks (static/merkle.js, static/ledger.js) give the verdicts consent/merkle.py and
consent/verify.py give, on proofs, leaves and tree heads the Python side produced: valid ones ✓, a
tampered leaf, path, index, opening or tree head ✗, in the page of the real citizen web app."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc.jwk import ECKey, KeySet

from consent.commitments import new_salt, public_leaf
from consent.merkle import Frontier, NodeKey, inclusion_proof, leaf_hash, root_hash, verify_inclusion
from consent.receipts import canonical
from consent.tree_heads import InvalidTreeHead, sign_tree_head, verify_tree_head
from consent.verify import own_entry_is_logged
from tests.fixtures.browser import browser, new_phone, require_chromium
from tests.fixtures.deployment import Deployment

SIZES = [*range(1, 18), 31, 32, 33, 64, 100]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def flipped(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


class Tree:
    """A log of ``size`` entries and every perfect node of it, as the consent service's store keeps them."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.nodes: dict[NodeKey, bytes] = {}
        frontier = Frontier()
        for leaf in leaves:
            self.nodes.update(frontier.append(leaf_hash(leaf)))

    def node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def root(self) -> bytes:
        return root_hash(len(self.leaves), self.node)

    def proof(self, index: int) -> list[bytes]:
        return inclusion_proof(index, len(self.leaves), self.node)


def inclusion_cases() -> list[dict[str, Any]]:
    """Each case as the page gets it (base64) and the Python verifier's verdict on it."""
    cases = []
    for size in SIZES:
        tree = Tree([f"entry {size}/{index}".encode() for index in range(size)])
        root = tree.root()
        for index in sorted({0, size // 2, size - 1}):
            entry, path = tree.leaves[index], tree.proof(index)
            variants = {
                "valid": (entry, index, size, path, root),
                "tampered leaf": (flipped(entry), index, size, path, root),
                "another index": (entry, (index + 1) % size, size, path, root),
                "tampered path": (entry, index, size, [flipped(path[0]), *path[1:]] if path else [root], root),
                "shortened path": (entry, index, size, path[:-1], root),
                "another size": (entry, index, size + 1, path, root),
                "another root": (entry, index, size, path, flipped(root)),
            }
            for name, (leaf, at, of, audit, against) in variants.items():
                cases.append(
                    {
                        "name": f"{name}: leaf {index} of {size}",
                        "leaf": b64(leaf),
                        "index": at,
                        "size": of,
                        "path": [b64(h) for h in audit],
                        "root": b64(against),
                        "python": verify_inclusion(leaf_hash(leaf), at, of, audit, against),
                    }
                )
    return cases


def access_log_case() -> dict[str, Any]:
    """A signed tree head and one of the citizen's lines of /me/access-log, as the consent service serves them."""
    documents = [
        {"v": 1, "kind": "access.permitted", "at": f"2026-12-07T07:0{i}:00Z", "recipient": "prescriptions", "n": i}
        for i in range(6)
    ]
    clears = [canonical(document) for document in documents]
    salts = [new_salt() for _ in clears]
    tree = Tree([public_leaf(salt, clear) for salt, clear in zip(salts, clears, strict=True)])
    key = ECKey.generate_key("P-256", private=True)
    head = sign_tree_head(key, log_id="http://127.0.0.1:8202", tree_size=6, root_hash=tree.root()).model_dump()
    index = 4
    line = {
        "index": index,
        "entry": documents[index],
        "clear": b64(clears[index]),
        "salt": b64(salts[index]),
        "leaf": b64(tree.leaves[index]),
        "inclusion_path": [b64(h) for h in tree.proof(index)],
    }
    jwks = {"keys": [key.as_dict(private=False)]}  # what the page gets: the published half only
    keys = KeySet([key])
    # what the Python side says of them: the page must agree
    assert own_entry_is_logged(line, verify_tree_head(head, keys))
    forged = {**head, "root_hash": b64(flipped(base64.b64decode(head["root_hash"])))}
    with pytest.raises(InvalidTreeHead):
        verify_tree_head(forged, keys)
    altered = json.loads(clears[index])
    altered["recipient"] = "nobody"
    tampered = {**line, "entry": altered, "clear": b64(canonical(altered))}
    assert not own_entry_is_logged(tampered, verify_tree_head(head, keys))
    return {"head": head, "forged": forged, "jwks": jwks, "line": line, "tampered": tampered}


async def test_merkle_js_and_ledger_js_agree_with_python(deployment: Deployment, request):
    require_chromium()
    cases = inclusion_cases()
    assert {case["python"] for case in cases} == {True, False}
    log = access_log_case()
    async with browser(request.node.name) as launched:
        phone = await new_phone(launched, "rights")
        page = phone.page
        await page.goto(f"{deployment.citizen_web_url}/journeys/my-data")  # the app's origin and its CSP
        verdicts = await page.evaluate(
            """async (cases) => {
                const { verifyInclusion, leafHash, fromBase64 } = await import("/static/merkle.js");
                const out = [];
                for (const c of cases) {
                    const leaf = await leafHash(fromBase64(c.leaf));
                    const path = c.path.map(fromBase64);
                    out.push(await verifyInclusion(leaf, c.index, c.size, path, fromBase64(c.root)));
                }
                return out;
            }""",
            cases,
        )
        ledger = await page.evaluate(
            """async (log) => {
                const { verifyTreeHead, entryIsLogged } = await import("/static/ledger.js");
                const head = await verifyTreeHead(log.head, log.jwks);
                const forged = await verifyTreeHead(log.forged, log.jwks);
                return {
                    head: head.ok,
                    forged: forged.ok,
                    line: (await entryIsLogged(log.line, head.head)).ok,
                    tampered: (await entryIsLogged(log.tampered, head.head)).ok,
                };
            }""",
            log,
        )
        phone.assert_clean()
    disagreements = [case["name"] for case, verdict in zip(cases, verdicts, strict=True) if verdict != case["python"]]
    assert disagreements == []
    assert all(verdict for case, verdict in zip(cases, verdicts, strict=True) if case["name"].startswith("valid"))
    assert not any(verdict for case, verdict in zip(cases, verdicts, strict=True) if "tampered" in case["name"])
    assert ledger == {"head": True, "forged": False, "line": True, "tampered": False}
