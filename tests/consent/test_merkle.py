"""consent.merkle against the published Certificate Transparency vectors and a literal RFC 9162 transcription."""

from __future__ import annotations

import random
from typing import Any

import pytest

from consent import merkle
from consent.merkle import (
    EMPTY_ROOT,
    Frontier,
    StreamingRoot,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_for_consistency,
    nodes_for_inclusion,
    nodes_for_root,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.fixtures import merkle_reference as ref

h = bytes.fromhex

# --- published vectors -------------------------------------------------------------------------
# The reference tree of google/certificate-transparency cpp/merkletree/merkle_tree_test.cc
# (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs), repeated in transparency-dev/merkle
# proof/verify_test.go (inclusionProofs, consistencyProofs, roots, leaves), which adds the
# consistency proof 6 -> 7. The C++ file numbers leaves from 1; the indices below are 0-based.

CT_LEAVES = [
    h(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_EMPTY_ROOT = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
CT_ROOTS = [
    h(x)
    for x in (  # sizes 1..8
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
CT_INCLUSION = [  # (leaf index, tree size, path)
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
CT_CONSISTENCY = [  # (first, second, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def perfect_nodes(entries: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect node over ``entries``, computed by the reference, not by the code under test."""
    nodes = {}
    level = 0
    while 1 << level <= len(entries):
        width = 1 << level
        for index in range(len(entries) // width):
            nodes[(level, index)] = ref.mth(entries[index * width : (index + 1) * width])
        level += 1
    return nodes


class Store:
    """A node source that only answers nodes complete at ``size`` and records what was asked."""

    def __init__(self, nodes: dict[tuple[int, int], bytes], size: int) -> None:
        self.nodes, self.size = nodes, size
        self.asked: set[tuple[int, int]] = set()

    def __call__(self, level: int, index: int) -> bytes:
        assert (index + 1) << level <= self.size, f"node {(level, index)} is not complete at size {self.size}"
        self.asked.add((level, index))
        return self.nodes[(level, index)]


CT_NODES = perfect_nodes(CT_LEAVES)


def test_hashes_are_the_rfcs():
    assert EMPTY_ROOT == CT_EMPTY_ROOT
    assert leaf_hash(b"") == CT_ROOTS[0]
    assert node_hash(leaf_hash(CT_LEAVES[0]), leaf_hash(CT_LEAVES[1])) == CT_ROOTS[1]


def test_published_roots():
    assert root_hash(0, Store(CT_NODES, 0)) == CT_EMPTY_ROOT
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert root_hash(size, Store(CT_NODES, size)) == expected
        assert ref.mth(CT_LEAVES[:size]) == expected  # the reference is right too


def test_published_inclusion_proofs():
    for index, size, expected in CT_INCLUSION:
        assert inclusion_proof(index, size, Store(CT_NODES, size)) == expected
        assert ref.path(index, CT_LEAVES[:size]) == expected
        assert verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, expected, CT_ROOTS[size - 1])


def test_published_consistency_proofs():
    for first, second, expected in CT_CONSISTENCY:
        assert consistency_proof(first, second, Store(CT_NODES, second)) == expected
        assert ref.proof(first, CT_LEAVES[:second]) == expected
        assert verify_consistency(first, second, CT_ROOTS[first - 1], CT_ROOTS[second - 1], expected)


def test_frontier_and_streaming_root_follow_the_published_roots():
    frontier, stream = Frontier(), StreamingRoot()
    assert frontier.root() == stream.root() == CT_EMPTY_ROOT
    for size, entry in enumerate(CT_LEAVES, start=1):
        completed = frontier.append(leaf_hash(entry))
        stream.add(entry)
        assert completed[0] == ((0, size - 1), leaf_hash(entry))
        assert all(CT_NODES[key] == value for key, value in completed)
        assert frontier.root() == stream.root() == CT_ROOTS[size - 1]
        assert frontier.size == stream.size == size


# --- against the reference, every size up to 300 -----------------------------------------------

MAX_SIZE = 300
ENTRIES = [f"entry {n}".encode() * (n % 5) for n in range(MAX_SIZE)]  # includes b"" leaves
NODES = perfect_nodes(ENTRIES)


def sample_indices(size: int, rng: random.Random) -> list[int]:
    if size <= 64:
        return list(range(size))
    return sorted({0, 1, size // 2, size - 2, size - 1, *rng.sample(range(size), 6)})


def sample_firsts(second: int, rng: random.Random) -> list[int]:
    powers = [1 << p for p in range(second.bit_length()) if 1 << p <= second]
    picks = {1, second, second - 1, *powers, *(rng.randint(1, second) for _ in range(4))}
    return sorted(p for p in picks if 1 <= p <= second)


def test_roots_and_proofs_equal_the_reference_and_verify():
    rng = random.Random(9162)
    frontier = Frontier()
    for size in range(1, MAX_SIZE + 1):
        entries = ENTRIES[:size]
        frontier.append(leaf_hash(entries[-1]))
        root = ref.mth(entries)

        store = Store(NODES, size)
        assert root_hash(size, store) == root == frontier.root()
        assert store.asked == set(nodes_for_root(size))
        assert Frontier(size, {k: NODES[k] for k in nodes_for_root(size)}).root() == root

        for index in sample_indices(size, rng):
            store = Store(NODES, size)
            proof = inclusion_proof(index, size, store)
            assert proof == ref.path(index, entries), (index, size)
            assert store.asked == nodes_for_inclusion(index, size)
            assert verify_inclusion(leaf_hash(entries[index]), index, size, proof, root)

        for first in sample_firsts(size, rng):
            store = Store(NODES, size)
            proof = consistency_proof(first, size, store)
            assert proof == ref.proof(first, entries), (first, size)
            assert store.asked == nodes_for_consistency(first, size)
            assert verify_consistency(first, size, ref.mth(ENTRIES[:first]), root, proof)


def test_frontier_emits_every_perfect_node_exactly_once():
    frontier, emitted = Frontier(), {}
    for entry in ENTRIES:
        for key, value in frontier.append(leaf_hash(entry)):
            assert key not in emitted
            emitted[key] = value
    assert emitted == NODES


def test_frontier_resumes_from_stored_nodes():
    for size in (0, 1, 5, 64, 255):
        resumed = Frontier(size, {k: NODES[k] for k in nodes_for_root(size)})
        for entry in ENTRIES[size : size + 40]:
            resumed.append(leaf_hash(entry))
        assert resumed.root() == ref.mth(ENTRIES[: size + 40])
    with pytest.raises(ValueError, match="lacks nodes"):
        Frontier(6, {(2, 0): NODES[(2, 0)]})  # (1, 2) is missing


# --- corrupted proofs do not verify ------------------------------------------------------------
# The probes of transparency-dev/merkle proof/verify_test.go (corruptInclusionProof,
# corruptConsistencyProof), plus a wrong-length hash.


def flipped(proof: list[bytes], i: int) -> list[bytes]:
    wrong = list(proof)
    wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
    return wrong


def inclusion_probes(index, size, proof, root, leaf):
    yield index - 1, size, proof, root, leaf
    yield index + 1, size, proof, root, leaf
    yield index ^ 2, size, proof, root, leaf
    yield index, size * 2, proof, root, leaf
    yield index, size // 2, proof, root, leaf
    yield index, size, proof, root, leaf_hash(b"WrongLeaf")
    yield index, size, proof, EMPTY_ROOT, leaf
    yield index, size, proof, SOME_HASH, leaf
    yield index, size, [*proof, b""], root, leaf
    yield index, size, [*proof, root], root, leaf
    yield index, size, [b"", *proof], root, leaf
    yield index, size, [root, *proof], root, leaf
    yield index, size, proof, root[:31], leaf
    for i in range(len(proof)):
        yield index, size, flipped(proof, i), root, leaf
    if proof:
        yield index, size, proof[:-1], root, leaf
    if len(proof) > 1:
        yield index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf


def consistency_probes(first, second, root1, root2, proof):
    yield first - 1, second, root1, root2, proof
    yield first + 1, second, root1, root2, proof
    yield first ^ 2, second, root1, root2, proof
    yield first, second * 2, root1, root2, proof
    yield first, second // 2, root1, root2, proof
    yield first, second, b"WrongRoot", root2, proof
    yield first, second, root1, b"WrongRoot", proof
    yield first, second, root2, root1, proof
    yield first, second, root1, root2, []
    yield first, second, root1, root2, [*proof, b""]
    yield first, second, root1, root2, [*proof, root1]
    yield first, second, root1, root2, [*proof, root2]
    yield first, second, root1, root2, [b"", *proof]
    yield first, second, root1, root2, [root1, *proof]
    yield first, second, root1, root2, [root2, *proof]
    yield first, second, root1, root2, [proof[0], *proof]
    yield first, second, root1, root2, proof[:-1]
    for i in range(len(proof)):
        yield first, second, root1, root2, flipped(proof, i)


def test_corrupted_inclusion_proofs_fail():
    rng = random.Random(1)
    cases = [(index, size) for index, size, _ in CT_INCLUSION]
    cases += [(rng.randrange(size), size) for size in rng.sample(range(1, MAX_SIZE + 1), 60)]
    for index, size in cases:
        entries = ENTRIES[:size] if size > 8 else CT_LEAVES[:size]
        proof, root, leaf = ref.path(index, entries), ref.mth(entries), leaf_hash(entries[index])
        assert verify_inclusion(leaf, index, size, proof, root)
        for probe in inclusion_probes(index, size, proof, root, leaf):
            if probe[:2] == (index, size) and probe[2:] == (proof, root, leaf):
                continue
            assert not verify_inclusion(probe[4], probe[0], probe[1], probe[2], probe[3]), (index, size, probe)


def test_corrupted_consistency_proofs_fail():
    rng = random.Random(2)
    cases = [(first, second) for first, second, proof in CT_CONSISTENCY if proof]
    for second in rng.sample(range(2, MAX_SIZE + 1), 60):
        cases.append((rng.randrange(1, second), second))
    cases += [(1, 2), (1, 256), (128, 256), (255, 256), (256, 300), (2, 3)]
    for first, second in cases:
        entries = ENTRIES[:second] if second > 8 else CT_LEAVES[:second]
        root1, root2 = ref.mth(entries[:first]), ref.mth(entries)
        proof = ref.proof(first, entries)
        assert verify_consistency(first, second, root1, root2, proof)
        for probe in consistency_probes(first, second, root1, root2, proof):
            assert not verify_consistency(*probe), (first, second, probe)


def test_degenerate_inputs():
    root = CT_ROOTS[0]
    # equal sizes: consistent exactly when the roots agree and nothing else is claimed
    assert verify_consistency(1, 1, root, root, [])
    assert not verify_consistency(1, 1, root, CT_ROOTS[1], [])
    assert not verify_consistency(1, 1, root, root, [EMPTY_ROOT])
    # an empty tree is no starting point, backwards is not a proof, an empty proof proves nothing
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 1, EMPTY_ROOT, root, [])
    assert not verify_consistency(2, 1, root, root, [])
    assert not verify_consistency(1, 2, root, CT_ROOTS[1], [])
    # single-leaf tree: the leaf hash is the root
    assert verify_inclusion(root, 0, 1, [], root)
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1)]:
        assert not verify_inclusion(root, index, size, [], root)
    # malformed input answers False rather than raising
    garbage: list[Any] = [None, "", "0" * 32, 1.5, True, [b"x"], object()]  # wrong types on purpose
    for bad in garbage:
        assert not verify_inclusion(bad, 0, 1, [], root)
        assert not verify_inclusion(root, bad, 1, [], root)
        assert not verify_inclusion(root, 0, bad, [], root)
        assert not verify_inclusion(root, 0, 1, [bad], root)
        assert not verify_inclusion(root, 0, 1, [], bad)
        assert not verify_consistency(bad, 2, root, root, [root])
        assert not verify_consistency(1, bad, root, root, [root])
        assert not verify_consistency(1, 2, bad, root, [root])
        assert not verify_consistency(1, 2, root, root, [bad])
    assert not verify_inclusion(root, 0, 1, None, root)  # type: ignore[arg-type]  # on purpose
    assert not verify_consistency(1, 2, root, root, None)  # type: ignore[arg-type]  # on purpose


def test_invalid_requests_raise():
    store = Store(CT_NODES, 8)
    for call in (
        lambda: inclusion_proof(8, 8, store),
        lambda: inclusion_proof(-1, 8, store),
        lambda: inclusion_proof(0, 0, store),
        lambda: consistency_proof(0, 8, store),
        lambda: consistency_proof(5, 4, store),
        lambda: root_hash(-1, store),
        lambda: nodes_for_inclusion(3, 3),
        lambda: nodes_for_consistency(0, 3),
    ):
        with pytest.raises(ValueError, match=r"not in a tree|no consistency proof|is negative"):
            call()
    assert consistency_proof(8, 8, store) == [] and nodes_for_consistency(8, 8) == set()


def test_proofs_touch_few_nodes_at_a_million():
    size = 1_000_000
    assert len(nodes_for_root(size)) == bin(size).count("1")
    rng = random.Random(3)
    for _ in range(200):
        second = rng.randint(2, size)
        assert len(nodes_for_inclusion(rng.randrange(second), second)) <= 2 * second.bit_length()
        assert len(nodes_for_consistency(rng.randint(1, second), second)) <= 2 * second.bit_length()


def test_split_is_the_largest_power_of_two_below():
    assert {n: merkle._split(n) for n in (2, 3, 4, 5, 8, 9, 1000)} == {2: 1, 3: 2, 4: 2, 5: 4, 8: 4, 9: 8, 1000: 512}
