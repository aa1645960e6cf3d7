"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and their verification.

Pure functions, no I/O. Proofs are built from *perfect nodes*: ``(level, index)`` is the hash of
the complete subtree over leaves ``[index * 2**level, (index + 1) * 2**level)``. Once complete, a
perfect node never changes, so a store can write each one once, at the append that completes
it, and answer any root or proof for any historical size from O(log n) stored nodes instead of
rehashing the log. Every subtree the RFC's recursion visits is either perfect (its left parts)
or a range that splits into a few perfect nodes (its right parts), which is what the
``nodes_for_*`` functions name so that a store can fetch them all in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
NodeSource = Callable[[int, int], bytes]
"""``node(level, index)`` returns a stored perfect node."""

_Range = tuple[int, int]


def leaf_hash(entry: bytes) -> bytes:
    # the 0x00 / 0x01 prefixes keep a leaf from ever being passed off as an interior node
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- which perfect nodes a computation needs --------------------------------------------------


def nodes_for_root(size: int) -> list[NodeKey]:
    """The perfect subtrees that tile ``[0, size)``, largest (leftmost) first: one per set bit."""
    _check_size(size)
    return _range_nodes(0, size)


def nodes_for_inclusion(leaf_index: int, size: int) -> set[NodeKey]:
    return {key for start, end in _inclusion_ranges(leaf_index, size) for key in _range_nodes(start, end)}


def nodes_for_consistency(first: int, second: int) -> set[NodeKey]:
    return {key for start, end in _consistency_ranges(first, second) for key in _range_nodes(start, end)}


# --- roots and proofs from stored nodes --------------------------------------------------------


def root_hash(size: int, node: NodeSource) -> bytes:
    _check_size(size)
    return _range_hash(0, size, node) if size else EMPTY_ROOT


def inclusion_proof(leaf_index: int, size: int, node: NodeSource) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), leaf side first."""
    return [_range_hash(start, end, node) for start, end in _inclusion_ranges(leaf_index, size)]


def consistency_proof(first: int, second: int, node: NodeSource) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]); [] when the sizes are equal."""
    return [_range_hash(start, end, node) for start, end in _consistency_ranges(first, second)]


def _inclusion_ranges(leaf_index: int, size: int) -> list[_Range]:
    """PATH's recursion unrolled: at each split keep the side holding the leaf, emit the other."""
    _check_size(size)
    if not 0 <= leaf_index < size:
        raise ValueError(f"leaf index {leaf_index} is not in a tree of size {size}")
    ranges: list[_Range] = []
    start, m, n = 0, leaf_index, size
    while n > 1:
        k = _split(n)
        if m < k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, m, n = start + k, m - k, n - k
    ranges.reverse()  # the recursion appends on the way back up: the leaf's sibling comes first
    return ranges


def _consistency_ranges(first: int, second: int) -> list[_Range]:
    """SUBPROOF(m, D[n], b) unrolled; ``whole`` is b: true while the old root is still a left edge."""
    _check_size(second)
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    ranges: list[_Range] = []
    start, m, n, whole = 0, first, second, True
    while m != n:
        k = _split(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        # the old tree's root is not a node of the new one's left edge: the verifier needs it
        ranges.append((start, start + n))
    ranges.reverse()
    return ranges


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2): RFC 9162's k, never the midpoint."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_nodes(start: int, end: int) -> list[NodeKey]:
    # Every range the RFC's recursion produces starts on a multiple of a power of two at least
    # as large as the range, so the binary decomposition of its length is aligned.
    keys: list[NodeKey] = []
    size = end - start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def _range_hash(start: int, end: int, node: NodeSource) -> bytes:
    # MTH of a range is its perfect pieces folded from the right (each split takes the largest
    # power of two on the left, so the tail nests to the right)
    keys = _range_nodes(start, end)
    result = node(*keys[-1])
    for level, index in reversed(keys[:-1]):
        result = node_hash(node(level, index), result)
    return result


def _check_size(size: int) -> None:
    if size < 0:
        raise ValueError(f"tree size {size} is negative")


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) -------------------------------------------------
# A verifier sees untrusted input; it answers False, it never raises.


def verify_inclusion(leaf_hash: bytes, leaf_index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    try:
        path = list(path)
        if not (_is_hash(leaf_hash) and _is_hash(root) and all(_is_hash(p) for p in path)):
            return False
        if not (_is_count(leaf_index) and _is_count(size)) or leaf_index >= size:
            return False
        fn, sn, r = leaf_index, size - 1, leaf_hash
        for p in path:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(p, r)
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
            else:
                r = node_hash(r, p)
            fn, sn = fn >> 1, sn >> 1
        return sn == 0 and r == root
    except Exception:
        return False


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> bool:
    """Equal sizes are consistent with an empty path and equal roots (what ``consistency_proof``
    gives); size 0 is refused, as ``consistency_proof`` refuses to make a proof from it."""
    try:
        path = list(path)
        if not (_is_hash(first_root) and _is_hash(second_root) and all(_is_hash(p) for p in path)):
            return False
        if not (_is_count(first) and _is_count(second)) or not 0 < first <= second:
            return False
        if first == second:
            return len(path) == 0 and first_root == second_root
        if len(path) == 0:
            return False
        if first & (first - 1) == 0:  # the old tree is perfect: its root is a node of the new one
            path.insert(0, first_root)
        fn, sn = first - 1, second - 1
        while fn & 1:
            fn, sn = fn >> 1, sn >> 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
            else:
                sr = node_hash(sr, c)
            fn, sn = fn >> 1, sn >> 1
        return sn == 0 and fr == first_root and sr == second_root
    except Exception:
        return False


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- the right edge of a growing tree ----------------------------------------------------------


class Frontier:
    """The perfect nodes of ``nodes_for_root(size)``: all an appender needs to keep in memory,
    since every node a new leaf completes is that leaf merged with frontier nodes."""

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, nodes: Mapping[NodeKey, bytes] | None = None) -> None:
        keys = nodes_for_root(size)
        nodes = nodes or {}
        missing = [key for key in keys if key not in nodes]
        if missing:
            raise ValueError(f"frontier of size {size} lacks nodes {missing}")
        self.size = size
        self._hashes = [nodes[key] for key in keys]  # the decomposition's order: highest level first

    def append(self, leaf_hash: bytes) -> list[tuple[NodeKey, bytes]]:
        """Every perfect node completed by this leaf, the leaf itself first: one per trailing one
        bit of the old size."""
        n, index, level, current = self.size, self.size, 0, leaf_hash
        completed = [((0, index), current)]
        hashes = self._hashes
        while n & 1:
            current = node_hash(hashes.pop(), current)
            n, index, level = n >> 1, index >> 1, level + 1
            completed.append(((level, index), current))
        hashes.append(current)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return _fold(self._hashes)

    def copy(self) -> Frontier:
        twin = Frontier.__new__(Frontier)
        twin.size, twin._hashes = self.size, list(self._hashes)
        return twin


class StreamingRoot:
    """The root of a log read once, front to back, in O(log n) memory: an offline verifier's
    tool for millions of entries (no node keys kept, nothing returned per entry)."""

    __slots__ = ("_hashes", "size")

    def __init__(self) -> None:
        self.size = 0
        self._hashes: list[bytes] = []

    def add(self, entry: bytes) -> None:
        self.add_leaf_hash(leaf_hash(entry))

    def add_leaf_hash(self, current: bytes) -> None:
        n, hashes = self.size, self._hashes
        while n & 1:
            current = node_hash(hashes.pop(), current)
            n >>= 1
        hashes.append(current)
        self.size += 1

    def root(self) -> bytes:
        return _fold(self._hashes)


def _fold(hashes: list[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result
