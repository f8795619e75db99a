"""Policy bundles: a manifest, Rego modules and optional data, with one content digest.

A bundle is built from a mapping of relative path to file content (text or bytes); the caller reads
the folder or the registered bundle, this module never touches a file system. The files that make
up a bundle are

``manifest.json``  required: ``{"name": str, "version": str, "description": str (optional)}``
``data.json``      optional: a JSON object, the base document the policies read as ``data``
``**/*.rego``      at least one; files named ``*_test.rego`` hold Rego unit tests and are not
                   loaded when a decision is evaluated

Other files (a README, editor files) are not part of the bundle and not covered by its digest.

The **bundle digest** is ``sha256:`` + SHA-256 of the listing ``"<sha256 hex of content>  <path>\\n"``
for every file of the bundle, sorted by path (byte order of the UTF-8 path). It is what
``sha256sum`` prints, so a bundle folder can be checked by hand::

    find . -type f \\( -name '*.rego' -o -name manifest.json -o -name data.json \\) \\
      | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from steward.errors import InvalidInput
from steward.policy._canonical import DIGEST_PREFIX
from steward.policy._engine import RegoEngine

MANIFEST = "manifest.json"
DATA = "data.json"
REGO_SUFFIX = ".rego"
TEST_SUFFIX = "_test.rego"
RESERVED_DATA_KEYS = frozenset({"steward"})
"""Top-level keys of ``data.json`` the policies' packages own (``data.steward.*``)."""

_MANIFEST_KEYS = frozenset({"name", "version", "description"})
_FAMILY_PACKAGE = re.compile(r"^package\s+steward\.gates\.rules\.([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)
_FAMILY_SETS = {
    kind: re.compile(rf"^{kind}\s+contains\b", re.MULTILINE) for kind in ("violation", "advisory")
}


@dataclass(frozen=True, slots=True)
class BundleManifest:
    """What ``manifest.json`` says about the bundle."""

    name: str
    version: str
    description: str | None = None


@dataclass(frozen=True)
class PolicyBundle:
    """A validated bundle. Build it with :meth:`from_files`; compare bundles by ``digest``."""

    manifest: BundleManifest
    digest: str
    files: Mapping[str, bytes] = field(compare=False, repr=False)
    modules: Mapping[str, str] = field(compare=False, repr=False)
    test_modules: Mapping[str, str] = field(compare=False, repr=False)
    data: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def all_modules(self) -> Mapping[str, str]:
        """Policy and test modules together (what :meth:`RegoEngine.run_tests` needs)."""
        return MappingProxyType({**self.modules, **self.test_modules})

    @classmethod
    def from_files(cls, files: Mapping[str, str | bytes]) -> PolicyBundle:
        """Validate and build a bundle from relative path → content."""
        kept: dict[str, bytes] = {}
        for raw_path, content in files.items():
            path = _normalise(raw_path)
            if not _belongs(path):
                continue
            if path in kept:
                raise _bundle_error(path, "duplicate", "the path appears twice")
            kept[path] = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if MANIFEST not in kept:
            raise _bundle_error(MANIFEST, "required", "the bundle has no manifest.json")
        manifest = _manifest(kept[MANIFEST])
        data = _data(kept[DATA]) if DATA in kept else {}
        modules: dict[str, str] = {}
        tests: dict[str, str] = {}
        for path in sorted(kept):
            if path.endswith(REGO_SUFFIX):
                target = tests if path.endswith(TEST_SUFFIX) else modules
                target[path] = _text(path, kept[path])
        if not modules:
            raise _bundle_error("*.rego", "required", "the bundle has no policy module")
        return cls(
            manifest=manifest,
            digest=bundle_digest(kept),
            files=MappingProxyType(kept),
            modules=MappingProxyType(modules),
            test_modules=MappingProxyType(tests),
            data=MappingProxyType(data),
        )


def bundle_digest(files: Mapping[str, bytes]) -> str:
    """``sha256:`` + SHA-256 of the sorted ``"<hex>  <path>\\n"`` listing (see the module doc)."""
    listing = "".join(
        f"{hashlib.sha256(files[path]).hexdigest()}  {path}\n"
        for path in sorted(files, key=lambda p: p.encode("utf-8"))
    )
    return DIGEST_PREFIX + hashlib.sha256(listing.encode("utf-8")).hexdigest()


def validate_bundle(bundle: PolicyBundle, engine: RegoEngine) -> None:
    """Parse and compile every module (tests included) on ``engine``, and check that every rule
    family reaches the decision; errors name file and line."""
    engine.check(bundle.all_modules)
    _check_wiring(bundle.modules)


def _check_wiring(modules: Mapping[str, str]) -> None:
    """Refuse a ``violation``/``advisory`` set of ``steward.gates.rules.<family>`` that no other
    module names as ``rules.<family>.<set>`` (the decision would silently ignore it)."""
    for path in sorted(modules):
        source = modules[path]
        package = _FAMILY_PACKAGE.search(source)
        if package is None:
            continue
        family = package.group(1)
        for kind, head in _FAMILY_SETS.items():
            found = head.search(source)
            if found is None:
                continue
            named = re.compile(rf"\brules\.{family}\.{kind}\b")
            if not any(named.search(other) for name, other in modules.items() if name != path):
                raise _bundle_error(
                    path,
                    "unwired_family",
                    f"steward.gates.rules.{family}.{kind} does not reach the decision; name it "
                    f"as rules.{family}.{kind} in the {kind}s of package steward.gates",
                    line=source.count("\n", 0, found.start()) + 1,
                )


def _normalise(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or any(part == ".." for part in parts):
        raise _bundle_error(path, "path", "paths must be relative and stay inside the bundle")
    cleaned = [part for part in parts if part not in ("", ".")]
    if not cleaned:
        raise _bundle_error(path, "path", "empty path")
    return "/".join(cleaned)


def _belongs(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if name in (MANIFEST, DATA) and "/" in path:
        raise _bundle_error(path, "path", f"{name} belongs at the root of the bundle")
    return path in (MANIFEST, DATA) or path.endswith(REGO_SUFFIX)


def _text(path: str, content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bundle_error(path, "utf8", f"not UTF-8 text (byte {exc.start})") from exc


def _json(path: str, content: bytes) -> Any:
    text = _text(path, content)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bundle_error(
            path, "json", f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from exc


def _manifest(content: bytes) -> BundleManifest:
    raw = _json(MANIFEST, content)
    if not isinstance(raw, dict):
        raise _bundle_error(MANIFEST, "type", "the manifest must be a JSON object")
    unknown = sorted(set(raw) - _MANIFEST_KEYS)
    if unknown:
        raise _bundle_error(MANIFEST, "unknown_key", f"unknown key(s): {', '.join(unknown)}")
    for key in ("name", "version"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _bundle_error(MANIFEST, "required", f"{key!r} must be a non-empty string")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise _bundle_error(MANIFEST, "type", "'description' must be a string")
    return BundleManifest(raw["name"], raw["version"], description)


def _data(content: bytes) -> dict[str, Any]:
    raw = _json(DATA, content)
    if not isinstance(raw, dict):
        raise _bundle_error(DATA, "type", "data.json must be a JSON object")
    reserved = sorted(RESERVED_DATA_KEYS & set(raw))
    if reserved:
        raise _bundle_error(DATA, "reserved", f"top-level key(s) reserved for policies: {reserved}")
    return raw


def _bundle_error(
    path: str, rule: str, message: str, *, line: int | None = None, column: int | None = None
) -> InvalidInput:
    where = path if line is None else f"{path}:{line}" + ("" if column is None else f":{column}")
    error: dict[str, Any] = {"field": path, "rule": rule, "message": message, "file": path}
    if line is not None:
        error["line"] = line
    if column is not None:
        error["column"] = column
    return InvalidInput(f"policy bundle: {where}: {message}", {"errors": [error]})
