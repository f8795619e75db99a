"""Policy bundles: building from files, the documented digest, and clear validation errors."""

from __future__ import annotations

import hashlib
import json

import pytest

from steward.errors import InvalidInput
from steward.policy import PolicyBundle, RegoEngine, bundle_digest, validate_bundle

MANIFEST = json.dumps({"name": "acme-gates", "version": "2.1.0", "description": "ACME rules"})
POLICY = 'package steward.gates\n\ndecision := {"deny": [], "warn": []}\n'
TEST = "package steward.tests.acme\n\ntest_ok if {\n\ttrue\n}\n"


def files(**extra: str) -> dict[str, str]:
    return {"manifest.json": MANIFEST, "gates.rego": POLICY, **extra}


def test_from_files_sorts_modules_tests_and_data() -> None:
    bundle = PolicyBundle.from_files(
        files(**{"rules/acme_test.rego": TEST, "data.json": '{"gates": {"x": 1}}'})
    )
    assert (bundle.name, bundle.version) == ("acme-gates", "2.1.0")
    assert bundle.manifest.description == "ACME rules"
    assert dict(bundle.modules) == {"gates.rego": POLICY}
    assert dict(bundle.test_modules) == {"rules/acme_test.rego": TEST}
    assert dict(bundle.data) == {"gates": {"x": 1}}
    assert set(bundle.all_modules) == {"gates.rego", "rules/acme_test.rego"}


def test_digest_is_sha256_of_the_sorted_sha256sum_listing() -> None:
    content = files(**{"b/z.rego": POLICY.replace("gates", "z"), "data.json": "{}"})
    listing = "".join(
        f"{hashlib.sha256(content[path].encode()).hexdigest()}  {path}\n" for path in sorted(content)
    )
    expected = "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
    assert PolicyBundle.from_files(content).digest == expected
    assert bundle_digest({p: c.encode() for p, c in content.items()}) == expected


def test_digest_ignores_order_and_other_files_but_not_content() -> None:
    base = PolicyBundle.from_files(files())
    reordered = PolicyBundle.from_files(dict(reversed(list(files().items()))))
    with_readme = PolicyBundle.from_files(files(**{"README.md": "notes", ".editorconfig": "x"}))
    as_bytes = PolicyBundle.from_files({k: v.encode() for k, v in files().items()})
    changed = PolicyBundle.from_files(files(**{"gates.rego": POLICY + "\n"}))
    assert base.digest == reordered.digest == with_readme.digest == as_bytes.digest
    assert changed.digest != base.digest
    assert base == reordered
    assert "README.md" not in with_readme.files


def test_paths_are_normalised() -> None:
    bundle = PolicyBundle.from_files({"./manifest.json": MANIFEST, "sub\\gates.rego": POLICY})
    assert set(bundle.files) == {"manifest.json", "sub/gates.rego"}


@pytest.mark.parametrize(
    ("content", "field", "rule", "message"),
    [
        ({"gates.rego": POLICY}, "manifest.json", "required", "no manifest.json"),
        ({"manifest.json": MANIFEST}, "*.rego", "required", "no policy module"),
        (files(**{"manifest.json": "[1]"}), "manifest.json", "type", "must be a JSON object"),
        (
            files(**{"manifest.json": '{"name": "x"}'}),
            "manifest.json",
            "required",
            "'version' must be a non-empty string",
        ),
        (
            files(**{"manifest.json": '{"name": "x", "version": "1", "owner": "me"}'}),
            "manifest.json",
            "unknown_key",
            "unknown key(s): owner",
        ),
        (files(**{"data.json": "[]"}), "data.json", "type", "must be a JSON object"),
        (files(**{"data.json": '{"steward": {}}'}), "data.json", "reserved", "reserved"),
        (files(**{"sub/data.json": "{}"}), "sub/data.json", "path", "at the root"),
        (files(**{"../escape.rego": POLICY}), "../escape.rego", "path", "relative"),
        (files(**{"/abs.rego": POLICY}), "/abs.rego", "path", "relative"),
        ({**files(), "bad.rego": b"package x\n\xff\n"}, "bad.rego", "utf8", "not UTF-8"),
    ],
)
def test_invalid_bundles_name_the_file(
    content: dict[str, str | bytes], field: str, rule: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        PolicyBundle.from_files(content)
    error = caught.value.details["errors"][0]
    assert (error["field"], error["rule"]) == (field, rule)
    assert message in error["message"]
    assert str(caught.value).startswith(f"policy bundle: {field}")


def test_bad_json_in_data_names_line_and_column() -> None:
    with pytest.raises(InvalidInput) as caught:
        PolicyBundle.from_files(files(**{"data.json": '{\n  "gates": {\n    "x": 1,\n  }\n}\n'}))
    error = caught.value.details["errors"][0]
    assert (error["file"], error["line"], error["column"]) == ("data.json", 4, 3)
    assert str(caught.value).startswith("policy bundle: data.json:4:3: invalid JSON")


def test_validate_bundle_names_the_file_and_line_that_does_not_parse(engine: RegoEngine) -> None:
    broken = "package steward.gates.rules.acme\n\n# a comment\nviolation contains f if {\n\tf := [\n}\n"
    bundle = PolicyBundle.from_files(files(**{"rules/acme.rego": broken}))
    with pytest.raises(InvalidInput) as caught:
        validate_bundle(bundle, engine)
    error = caught.value.details["errors"][0]
    assert error["file"] == "rules/acme.rego"
    assert error["line"] in (5, 6)  # where each engine notices the unclosed array
    assert error["rule"] == "rego_parse"


def test_validate_bundle_checks_test_modules_too(engine: RegoEngine) -> None:
    bundle = PolicyBundle.from_files(files(**{"acme_test.rego": "package t\n\ntest_x if {\n"}))
    with pytest.raises(InvalidInput) as caught:
        validate_bundle(bundle, engine)
    assert caught.value.details["errors"][0]["file"] == "acme_test.rego"


def test_builtin_bundle_is_valid(bundle: PolicyBundle, engine: RegoEngine) -> None:
    validate_bundle(bundle, engine)
    assert bundle.name == "steward-builtin"
    assert bundle.digest.startswith("sha256:")
    assert "gates.rego" in bundle.modules
    assert all(path.endswith("_test.rego") for path in bundle.test_modules)
    assert set(bundle.data["gates"]["environments"]) == {"production", "staging", "default"}
