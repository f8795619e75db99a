"""The audit ledger, pure: canonical events, hash chain, RFC 6962 tree, checkpoints, verification.

Nothing here does I/O. Storage persists the :class:`TreeNode` rows that :func:`append_leaves`
returns and reads them back through a :class:`NodeReader`; the formats are specified in
``docs/reference/audit-encoding.md``.
"""

from steward.ledger._canonical import GENESIS_HASH, canonical_bytes, chain_hash, leaf_hash
from steward.ledger._checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    parse_checkpoint,
    parse_signed_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from steward.ledger._memory import MemoryTree
from steward.ledger._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Appended,
    NodeReader,
    TreeNode,
    append_leaves,
    consistency_proof,
    consistency_proof_nodes,
    frontier_nodes,
    frontier_root,
    inclusion_proof,
    inclusion_proof_nodes,
    merkle_root,
    node_hash,
    read_frontier,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from steward.ledger._note import (
    NoteSignature,
    SignerKey,
    VerifierKey,
    generate_signer,
    parse_signer,
    parse_verifier,
)
from steward.ledger._verify import (
    LedgerEntry,
    VerifyReport,
    prove_checkpoint_consistency,
    verify_checkpoint_consistency,
    verify_entry_inclusion,
    verify_ledger,
)

__all__ = [
    "EMPTY_ROOT",
    "GENESIS_HASH",
    "HASH_SIZE",
    "Appended",
    "Checkpoint",
    "LedgerEntry",
    "MemoryTree",
    "NodeReader",
    "NoteSignature",
    "SignedCheckpoint",
    "SignerKey",
    "TreeNode",
    "VerifierKey",
    "VerifyReport",
    "append_leaves",
    "canonical_bytes",
    "chain_hash",
    "consistency_proof",
    "consistency_proof_nodes",
    "frontier_nodes",
    "frontier_root",
    "generate_signer",
    "inclusion_proof",
    "inclusion_proof_nodes",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "parse_checkpoint",
    "parse_signed_checkpoint",
    "parse_signer",
    "parse_verifier",
    "prove_checkpoint_consistency",
    "read_frontier",
    "sign_checkpoint",
    "tree_root",
    "verify_checkpoint",
    "verify_checkpoint_consistency",
    "verify_consistency",
    "verify_entry_inclusion",
    "verify_inclusion",
    "verify_ledger",
]
