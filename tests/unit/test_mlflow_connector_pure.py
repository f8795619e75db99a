"""The MLflow connector's pure parts: webhook signatures and payloads, artefact digests, mapping."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from steward.connectors.mlflow import webhook
from steward.connectors.mlflow._digest import metadata_digest, tree_digest
from steward.domain import RiskTier, SourceDataset, SourceSettings
from steward.errors import InvalidInput, Unauthenticated
from steward.service import _mapping as mapping

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BODY = json.dumps(
    {
        "entity": "model_version_alias",
        "action": "created",
        "timestamp": "t",
        "data": {"name": "credit", "alias": "production", "version": "3"},
    }
).encode()


def headers(
    body: bytes = BODY, secret: str = "s3cret", at: datetime = NOW, delivery: str = "d-1"
) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    return {
        "x-mlflow-delivery-id": delivery,
        "x-mlflow-timestamp": stamp,
        "x-mlflow-signature": webhook.sign(secret, delivery, stamp, body),
    }


def test_signature_matches_mlflows_own_signing() -> None:
    from mlflow.webhooks.delivery import _generate_hmac_signature

    assert webhook.sign("k", "id", "17", BODY) == _generate_hmac_signature("k", "id", "17", BODY.decode())


def test_verify_accepts_authentic_fresh_deliveries_and_parses_them() -> None:
    delivery, sent = webhook.verify("s3cret", headers(), BODY, NOW + timedelta(seconds=30))
    assert (delivery, sent) == ("d-1", NOW)
    event = webhook.parse(BODY, delivery, sent)
    assert (event.type, event.model, event.alias, event.version) == (
        "model_version_alias.created",
        "credit",
        "production",
        "3",
    )


@pytest.mark.parametrize(
    ("given", "message", "reason"),
    [
        (headers(secret="other"), "signature does not match", "bad_signature"),
        (headers(at=NOW - timedelta(minutes=10)), "replay", "stale"),
        ({k: v for k, v in headers().items() if k != "x-mlflow-timestamp"}, "not signed", "missing_headers"),
        ({**headers(), "x-mlflow-timestamp": "soon"}, "signature does not match", "bad_signature"),
    ],
)
def test_verify_refuses_forged_stale_and_unsigned(given: dict[str, str], message: str, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=message) as caught:
        webhook.verify("s3cret", given, BODY, NOW)
    assert caught.value.details["reason"] == reason  # what the server counts refusals by


def test_altered_body_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        webhook.verify("s3cret", headers(), BODY.replace(b"production", b"champion"), NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"entity": 1}',
        b'{"entity": "a", "action": "b", "data": []}',
        b'{"entity": "a", "action": "b", "data": {}}',
    ],
)
def test_malformed_bodies_say_what_is_wrong(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        webhook.parse(body, "d", NOW)


def test_tree_digest_ignores_mlflows_per_logging_fields(tmp_path: Path) -> None:
    def model_dir(name: str, run_id: str) -> Path:
        root = tmp_path / name
        root.mkdir()
        (root / "model.pkl").write_bytes(b"weights")
        (root / "MLmodel").write_text(
            f"run_id: {run_id}\nmodel_uuid: {run_id}\nflavors:\n  python_function:\n"
            "    python_version: 3.11.7\n"
        )
        return root

    first, mlmodel = tree_digest(model_dir("a", "r1"))
    second, _ = tree_digest(model_dir("b", "r2"))
    assert first == second and first.startswith("sha256:")
    assert mlmodel["flavors"]["python_function"]["python_version"] == "3.11.7"
    (tmp_path / "b" / "model.pkl").write_bytes(b"other weights")
    assert tree_digest(tmp_path / "b")[0] != first
    assert metadata_digest("models:/m-1") == metadata_digest("models:/m-1") != metadata_digest("models:/m-2")


def test_governance_comes_from_tags_and_nothing_is_invented() -> None:
    settings = SourceSettings()
    gov = mapping.governance({"steward.owner": "team-a", "steward.risk_tier": "Medium"}, {}, settings)
    assert (gov.owner, gov.risk_tier, gov.missing) == ("team-a", RiskTier.MEDIUM, ("use_case",))
    bad = mapping.governance({"steward.risk_tier": "extreme"}, {"steward.use_case": "x"}, settings)
    assert bad.risk_tier is None and bad.problems and bad.use_case == "x"
    assert mapping.model_tags({"a": "1", "steward.owner": "t"}, ("owner",)) == {
        "a": "1",
        "steward.incomplete": "owner",
    }


def test_dataset_mapping() -> None:
    ds = SourceDataset(
        "train", "abc12345", "s3", json.dumps({"uri": "s3://b/train.parquet"}), None, 10, "Train"
    )
    assert mapping.dataset_role(ds.context).value == "training"
    assert mapping.dataset_role("eval").value == "validation" and mapping.dataset_role("weird") is None
    assert mapping.dataset_uri(ds) == "s3://b/train.parquet"
    assert mapping.dataset_digest(ds).startswith("sha256:") and mapping.dataset_valid(ds) is None
    assert mapping.dataset_valid(SourceDataset("bad name", "x", "")) is not None
    assert mapping.clean_commit("ABCDEF1") == "abcdef1" and mapping.clean_commit("main") is None


def test_importing_steward_does_not_import_mlflow() -> None:
    import subprocess

    code = "import steward, steward.server, steward.cli, sys; print('mlflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def _self_signed(path: Path) -> bytes:
    """A self-signed CA certificate and its key in one PEM file (as MLflow's client-cert variable
    takes them); returns the certificate's DER bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "steward-test-ca")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_registry_reads_take_mlflows_tls_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from steward.connectors.mlflow._source import MlflowSource, _tls

    pem = tmp_path / "ca.pem"
    der = _self_signed(pem)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(pem))
    monkeypatch.setenv("MLFLOW_TRACKING_CLIENT_CERT_PATH", str(pem))
    context = _tls()
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.get_ca_certs(binary_form=True) == [der]  # the given CA, and only it, is trusted
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert _tls() is False
    monkeypatch.delenv("MLFLOW_TRACKING_INSECURE_TLS")
    monkeypatch.setenv("MLFLOW_TRACKING_CLIENT_CERT_PATH", str(tmp_path / "missing.pem"))
    MlflowSource("http://127.0.0.1:5000").http.close()  # plain HTTP reads no certificate files
    with pytest.raises(InvalidInput) as refused:
        _ = MlflowSource("https://127.0.0.1:5000").http
    assert refused.value.details["errors"][0]["field"] == "MLFLOW_TRACKING_CLIENT_CERT_PATH"
    assert "missing.pem is not a readable PEM certificate" in refused.value.message
