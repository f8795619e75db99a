"""The Merkle tree against published vectors, pymerkle, and RFC 6962's recursive definitions."""

from __future__ import annotations

import hashlib
from functools import cache

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.errors import IntegrityError, InvalidInput
from steward.ledger import (
    EMPTY_ROOT,
    MemoryTree,
    TreeNode,
    append_leaves,
    consistency_proof,
    consistency_proof_nodes,
    frontier_nodes,
    frontier_root,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    merkle_root,
    node_hash,
    read_frontier,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

MAX = 2000
FAST = settings(max_examples=60, deadline=None)

# ---- RFC 6962 section 2.1, as written: an independent reference ------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + rfc_mth(leaves[:k]) + rfc_mth(leaves[k:])).digest()


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*rfc_path(m, leaves[:k]), rfc_mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), rfc_mth(leaves[:k])]


def rfc_subproof(m: int, leaves: list[bytes], complete: bool = True) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [rfc_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], complete), rfc_mth(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), rfc_mth(leaves[:k])]


# ---- shared trees -----------------------------------------------------------------------------


def entry(i: int) -> bytes:
    return f"event-{i}".encode()


@cache
def leaves() -> list[bytes]:
    return [leaf_hash(entry(i)) for i in range(MAX)]


@cache
def ours() -> MemoryTree:
    return MemoryTree(leaves())


@cache
def theirs() -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256")  # RFC 6962 prefixes 0x00 / 0x01 by default
    for i in range(MAX):
        tree.append_entry(entry(i))
    return tree


sizes = st.integers(min_value=1, max_value=MAX)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(sizes)
    return draw(st.integers(min_value=1, max_value=new)), new


# ---- published vectors (certificate-transparency / transparency-dev test data) -----------------

CT_DATA = [
    bytes.fromhex(h)
    for h in (
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
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (1, 8): CT_INCLUSION[(0, 8)],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_roots_match_the_published_vectors() -> None:
    tree = MemoryTree(leaf_hash(d) for d in CT_DATA)
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert [tree_root(tree, n).hex() for n in range(9)] == CT_ROOTS
    assert [merkle_root(leaf_hash(d) for d in CT_DATA[:n]).hex() for n in range(9)] == CT_ROOTS


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_inclusion_proofs_match_the_published_vectors(index: int, size: int) -> None:
    tree = MemoryTree(leaf_hash(d) for d in CT_DATA)
    proof = inclusion_proof(tree, index, size)
    assert [h.hex() for h in proof] == CT_INCLUSION[(index, size)]
    verify_inclusion(leaf_hash(CT_DATA[index]), index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_consistency_proofs_match_the_published_vectors(old: int, new: int) -> None:
    tree = MemoryTree(leaf_hash(d) for d in CT_DATA)
    proof = consistency_proof(tree, old, new)
    assert [h.hex() for h in proof] == CT_CONSISTENCY[(old, new)]
    verify_consistency(old, new, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new]), proof)


# ---- agreement with pymerkle and the RFC definitions, on random sizes -------------------------


@FAST
@given(sizes)
def test_roots_agree_with_pymerkle_and_the_rfc(size: int) -> None:
    root = tree_root(ours(), size)
    assert root == theirs().get_root(size)
    assert root == rfc_mth(leaves()[:size])
    assert root == merkle_root(leaves()[:size])


@FAST
@given(size_and_index())
def test_inclusion_proofs_agree_with_pymerkle_and_the_rfc(case: tuple[int, int]) -> None:
    size, index = case
    proof = inclusion_proof(ours(), index, size)
    reference = theirs().prove_inclusion(index + 1, size)  # pymerkle counts leaves from one
    assert reference.path[0] == leaves()[index]
    assert proof == reference.path[1:]
    assert proof == rfc_path(index, leaves()[:size])
    verify_inclusion(leaves()[index], index, size, proof, theirs().get_root(size))


@FAST
@given(two_sizes())
def test_consistency_proofs_agree_with_pymerkle_and_the_rfc(case: tuple[int, int]) -> None:
    old, new = case
    proof = consistency_proof(ours(), old, new)
    assert proof == rfc_subproof(old, leaves()[:new])
    old_root, new_root = theirs().get_root(old), theirs().get_root(new)
    verify_consistency(old, new, old_root, new_root, proof)
    # pymerkle's proof has its own layout; it must accept the roots this tree computes.
    theirs().prove_consistency(old, new).verify(tree_root(ours(), old), tree_root(ours(), new))


def test_every_proof_of_small_trees_verifies() -> None:
    hashes = leaves()[:40]
    for size in range(1, 41):
        root = rfc_mth(hashes[:size])
        for index in range(size):
            verify_inclusion(hashes[index], index, size, inclusion_proof(ours(), index, size), root)
        for old in range(size + 1):
            proof = consistency_proof(ours(), old, size)
            verify_consistency(old, size, rfc_mth(hashes[:old]), root, proof)


# ---- storage: appends, frontiers, reads ------------------------------------------------------


@FAST
@given(st.lists(st.integers(min_value=0, max_value=70), max_size=12))
def test_batch_append_equals_one_by_one(batches: list[int]) -> None:
    one_size, batch_size = 0, 0
    one_frontier: tuple[bytes, ...] = ()
    batch_frontier: tuple[bytes, ...] = ()
    one_nodes: list[TreeNode] = []
    batch_nodes: list[TreeNode] = []
    for count in batches:
        new = leaves()[batch_size : batch_size + count]
        appended = append_leaves(batch_size, batch_frontier, new)
        batch_size, batch_frontier = appended.size, appended.frontier
        batch_nodes.extend(appended.nodes)
        for leaf in new:
            single = append_leaves(one_size, one_frontier, [leaf])
            one_size, one_frontier = single.size, single.frontier
            one_nodes.extend(single.nodes)
        assert appended.root == rfc_mth(leaves()[:batch_size])
    assert (batch_size, batch_frontier, batch_nodes) == (one_size, one_frontier, one_nodes)
    assert len(batch_nodes) == 2 * batch_size - batch_size.bit_count()


@FAST
@given(st.integers(min_value=0, max_value=300))
def test_append_writes_each_complete_node_once_with_its_subtree_hash(size: int) -> None:
    nodes = append_leaves(0, (), leaves()[:size]).nodes
    coordinates = [(n.level, n.index) for n in nodes]
    assert len(set(coordinates)) == len(coordinates)
    for node in nodes:
        first, last = node.index << node.level, (node.index + 1) << node.level
        assert last <= size
        assert node.hash == rfc_mth(leaves()[first:last])
    expected = {(lv, i) for lv in range(10) for i in range(size >> lv)}
    assert set(coordinates) == expected


def test_frontier_nodes_name_the_perfect_subtrees_left_first() -> None:
    assert frontier_nodes(0) == []
    assert frontier_nodes(1) == [(0, 0)]
    assert frontier_nodes(6) == [(2, 0), (1, 2)]
    assert frontier_nodes(13) == [(3, 0), (2, 2), (0, 12)]
    assert frontier_nodes(1_000_000) == [(lv, (1_000_000 >> lv) - 1) for lv in (19, 18, 17, 16, 14, 9, 6)]
    frontier = read_frontier(ours(), 13)
    assert frontier == [ours().node(3, 0), ours().node(2, 2), ours().node(0, 12)]
    assert frontier_root(frontier) == rfc_mth(leaves()[:13])
    assert append_leaves(13, frontier, []).root == rfc_mth(leaves()[:13])


class CountingReader:
    """Stands in for any stored tree: records reads and refuses incomplete nodes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        assert (index + 1) << level <= self.size, f"({level}, {index}) is not complete"
        self.reads.append((level, index))
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=2**40), st.data())
def test_proofs_read_o_log_n_complete_nodes(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    old = data.draw(st.integers(min_value=0, max_value=size))
    bound = 2 * size.bit_length()
    reader = CountingReader(size)
    assert len(inclusion_proof(reader, index, size)) <= size.bit_length()
    assert len(reader.reads) <= bound
    reader.reads.clear()
    consistency_proof(reader, old, size)
    assert len(reader.reads) <= bound
    reader.reads.clear()
    tree_root(reader, size)
    assert len(reader.reads) == size.bit_count()


def test_inclusion_proof_at_a_million_leaves_reads_few_nodes() -> None:
    reader = CountingReader(1_000_000)
    proof = inclusion_proof(reader, 765_432, 1_000_000)
    assert len(proof) == 20
    # 19 perfect siblings, and the right edge [786432, 1000000) folded from 5 perfect subtrees
    assert len(reader.reads) == 24


def test_memory_tree_keeps_the_rows_a_table_would() -> None:
    tree = MemoryTree()
    assert (tree.size, tree.root()) == (0, EMPTY_ROOT)
    assert tree.append(leaves()[:5]) == 8
    assert tree.append(leaves()[5:8]) == 7
    assert tree.node(3, 0) == rfc_mth(leaves()[:8]) == tree.root()
    with pytest.raises(IntegrityError, match=r"\(3, 1\) is not stored"):
        tree.node(3, 1)
    with pytest.raises(IntegrityError):
        tree.node(-1, 0)


# ---- verification failures --------------------------------------------------------------------


def test_tampered_inclusion_proofs_fail() -> None:
    size, index = 77, 30
    root = tree_root(ours(), size)
    proof = inclusion_proof(ours(), index, size)
    leaf = leaves()[index]
    verify_inclusion(leaf, index, size, proof, root)
    flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    cases = [
        (leaves()[index + 1], index, size, proof, root),
        (leaf, index + 1, size, proof, root),
        (leaf, index, 200, proof, root),
        (leaf, index, size, flipped, root),
        (leaf, index, size, proof[:-1], root),
        (leaf, index, size, [*proof, proof[0]], root),
        (leaf, index, size, [proof[1], proof[0], *proof[2:]], root),
        (leaf, index, size, proof, tree_root(ours(), size - 1)),
    ]
    for case in cases:
        with pytest.raises(IntegrityError):
            verify_inclusion(*case)


def test_tampered_consistency_proofs_fail() -> None:
    old, new = 21, 77
    old_root, new_root = tree_root(ours(), old), tree_root(ours(), new)
    proof = consistency_proof(ours(), old, new)
    verify_consistency(old, new, old_root, new_root, proof)
    flipped = [*proof[:-1], bytes(32)]
    forked = merkle_root([*leaves()[:5], leaf_hash(b"forged"), *leaves()[6:old]])
    cases = [
        (old, new, forked, new_root, proof),
        (old, new, old_root, tree_root(ours(), new - 1), proof),
        (old, new, old_root, new_root, flipped),
        (old, new, old_root, new_root, proof[:-1]),
        (old, new, old_root, new_root, [*proof, proof[0]]),
        (old + 1, new, old_root, new_root, proof),
        (new, new, old_root, new_root, []),
        (0, new, old_root, new_root, []),
    ]
    for case in cases:
        with pytest.raises(IntegrityError):
            verify_consistency(*case)
    verify_consistency(new, new, new_root, new_root, [])
    verify_consistency(0, new, EMPTY_ROOT, new_root, [])


def test_a_power_of_two_old_tree_is_not_repeated_in_the_proof() -> None:
    proof = consistency_proof(ours(), 8, 13)
    assert proof == rfc_subproof(8, leaves()[:13])
    assert tree_root(ours(), 8) not in proof
    verify_consistency(8, 13, tree_root(ours(), 8), tree_root(ours(), 13), proof)


def test_bad_arguments_are_invalid_input() -> None:
    root = tree_root(ours(), 10)
    with pytest.raises(InvalidInput, match="not in a tree of size 10"):
        inclusion_proof(ours(), 10, 10)
    with pytest.raises(InvalidInput, match="old size <= new size"):
        consistency_proof(ours(), 11, 10)
    with pytest.raises(InvalidInput, match="cannot be negative"):
        tree_root(ours(), -1)
    with pytest.raises(InvalidInput, match="32 bytes, got 31"):
        verify_inclusion(bytes(31), 0, 10, [], root)
    with pytest.raises(InvalidInput, match="not in a tree"):
        verify_inclusion(leaves()[0], -1, 10, [], root)
    with pytest.raises(InvalidInput, match="2 frontier nodes, got 1"):
        append_leaves(6, [root], [])
    with pytest.raises(InvalidInput, match="32 bytes, got 3"):
        append_leaves(0, [], [b"abc"])
    with pytest.raises(InvalidInput):
        merkle_root([b"short"])


def test_node_hash_is_rfc_6962_interior_hash() -> None:
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle_root([left, right]) == node_hash(left, right)


@FAST
@given(two_sizes(), st.data())
def test_proof_node_lists_name_every_read_for_one_query(case: tuple[int, int], data: st.DataObject) -> None:
    old, size = case
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    reader = CountingReader(size)
    inclusion_proof(reader, index, size)
    assert inclusion_proof_nodes(index, size) == reader.reads
    reader.reads.clear()
    consistency_proof(reader, old, size)
    assert consistency_proof_nodes(old, size) == reader.reads
    rows = {coordinates: ours().node(*coordinates) for coordinates in reader.reads}

    class Rows:
        def node(self, level: int, index: int) -> bytes:
            return rows[(level, index)]

    assert consistency_proof(Rows(), old, size) == consistency_proof(ours(), old, size)
