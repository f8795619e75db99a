"""Where the ledger's signing key lives: a file (mode 0600), or memory for throwaway databases.

The entry points (``create_app``, the CLI) build a :class:`KeyFile` from the settings and hand it
to :class:`~steward.service.LedgerService`; the service never reads settings. The file holds one
line, the signer key text ``PRIVATE+KEY+<name>+<key id>+<base64>`` of ``golang.org/x/mod/sumdb/note``.
A rotation writes the new key beside the old one (``<file>.new``) before its transaction commits
and moves it into place after, so an interrupted rotation can be finished from the staged file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from steward.errors import InvalidInput, Unavailable
from steward.ledger import SignerKey, generate_signer, parse_signer


class KeyFile:
    """The ledger key in a file, created with mode 0600 on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def _staged_path(self) -> Path:
        return self.path.with_name(self.path.name + ".new")

    def load(self) -> SignerKey | None:
        return _read(self.path)

    def create(self, name: str) -> SignerKey:
        """Write a new key unless another process just did; return the key in the file."""
        signer = generate_signer(name)
        try:
            _write_new(self.path, signer)
        except FileExistsError:
            existing = self.load()
            if existing is None:  # pragma: no cover (removed between the two calls)
                raise Unavailable(f"the ledger key file {self.path} vanished while it was created") from None
            return existing
        return signer

    def staged(self) -> SignerKey | None:
        return _read(self._staged_path)

    def stage(self, signer: SignerKey) -> None:
        staged = self._staged_path
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        _write_new(staged, signer)

    def promote(self) -> None:
        """Move the staged key into place; a no-op if another process (a server that saw the
        rotation commit) has just done it."""
        with contextlib.suppress(FileNotFoundError):
            os.replace(self._staged_path, self.path)

    def __repr__(self) -> str:
        return f"KeyFile({self.location!r})"


class MemoryKeys:
    """A key held in memory only: for in-memory databases and tests."""

    def __init__(self, signer: SignerKey | None = None) -> None:
        self._signer = signer
        self._staged: SignerKey | None = None

    @property
    def location(self) -> str:
        return "memory"

    def load(self) -> SignerKey | None:
        return self._signer

    def create(self, name: str) -> SignerKey:
        if self._signer is None:
            self._signer = generate_signer(name)
        return self._signer

    def staged(self) -> SignerKey | None:
        return self._staged

    def stage(self, signer: SignerKey) -> None:
        self._staged = signer

    def promote(self) -> None:
        if self._staged is not None:
            self._signer, self._staged = self._staged, None


def _read(path: Path) -> SignerKey | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Unavailable(f"cannot read the ledger key file {path}: {error}") from error
    try:
        return parse_signer(text)
    except InvalidInput as error:
        raise InvalidInput.field(
            "ledger_key_path", "signer_key", f"{path} does not hold a ledger signing key: {error.message}"
        ) from None


def _write_new(path: Path, signer: SignerKey) -> None:
    """Create ``path`` holding the key, mode 0600, atomically; ``FileExistsError`` if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(signer.encode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if the file exists: never overwrite a key
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: create the file exclusively in place
            exclusive = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(exclusive, "w", encoding="utf-8") as handle:
                handle.write(signer.encode() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
