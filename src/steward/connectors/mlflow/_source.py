"""The MLflow tracking server and model registry as a :class:`~steward.domain.ModelSource`.

``mlflow`` (the ``[mlflow]`` extra, ``mlflow-skinny``) is imported inside the methods, so
``import steward`` never needs it. MLflow's credentials and TLS settings come from MLflow's own
environment variables (``MLFLOW_TRACKING_TOKEN``, or ``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD``; ``MLFLOW_TRACKING_SERVER_CERT_PATH``,
``MLFLOW_TRACKING_CLIENT_CERT_PATH``, ``MLFLOW_TRACKING_INSECURE_TLS``). Every failure leaves here
as a :mod:`steward.errors` kind.

The registry (registered models and versions) is read from MLflow's REST API as JSON: a harvest
lists every version, and ``MlflowClient`` decodes each page's JSON twice and then converts it to
protocol buffers and entities, which cost more CPU than the harvest's own writes. Runs,
experiments and every write go through ``MlflowClient``.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from steward.connectors.mlflow import _digest
from steward.domain import (
    SourceArtifact,
    SourceDataset,
    SourceExperiment,
    SourceModel,
    SourceRun,
    SourceVersion,
)
from steward.errors import InvalidInput, NotFound, StewardError, Unauthenticated, Unavailable

if TYPE_CHECKING:
    from mlflow import MlflowClient

PAGE = 1000
VERSION_ORDER = ["name ASC", "version_number ASC"]  # a model's versions together, oldest first
DIGEST_MODES = ("auto", "files", "metadata")


def _time(ms: int | None) -> datetime | None:
    return None if not ms else datetime.fromtimestamp(ms / 1000, UTC)


def _tls() -> ssl.SSLContext | bool:
    """TLS verification as MLflow's client does it, from MLflow's own variables."""
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        return False
    variable = "MLFLOW_TRACKING_SERVER_CERT_PATH"
    try:
        context = ssl.create_default_context(cafile=os.environ.get(variable) or None)
        variable = "MLFLOW_TRACKING_CLIENT_CERT_PATH"
        client_cert = os.environ.get(variable)
        if client_cert:
            context.load_cert_chain(client_cert)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput.field(
            variable, "certificate", f"{os.environ[variable]} is not a readable PEM certificate: {exc}"
        ) from exc
    return context


def _auth_headers() -> dict[str, str]:
    """MLflow's credentials as the MLflow client sends them: a bearer token, else basic auth."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    return {}


class MlflowSource:
    """One MLflow tracking server (with its model registry)."""

    platform = "mlflow"

    def __init__(self, tracking_uri: str, *, digest: str = "auto", timeout: float = 10.0) -> None:
        if not tracking_uri.startswith(("http://", "https://")):
            raise InvalidInput.field("tracking_uri", "url", f"must be an http(s) URL (got {tracking_uri!r})")
        if digest not in DIGEST_MODES:
            raise InvalidInput.field("digest", "choice", f"must be one of {', '.join(DIGEST_MODES)}")
        self.location = tracking_uri.rstrip("/")
        self.digest_mode = digest
        self.timeout = timeout
        self._client: MlflowClient | None = None
        self._http: httpx.Client | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            try:
                from mlflow import MlflowClient
            except ImportError as exc:  # pragma: no cover (the extra is installed in development)
                raise Unavailable(
                    "the MLflow connector needs the mlflow extra: pip install 'steward[mlflow]'"
                ) from exc
            self._client = MlflowClient(tracking_uri=self.location, registry_uri=self.location)
        return self._client

    @property
    def http(self) -> httpx.Client:
        """A keep-alive client of MLflow's REST API (connection failures retried twice)."""
        if self._http is None:
            tls = _tls() if self.location.startswith("https://") else True  # CA files: only for TLS
            self._http = httpx.Client(
                base_url=f"{self.location}/api/2.0/mlflow",
                headers=_auth_headers(),
                timeout=self.timeout,
                transport=httpx.HTTPTransport(retries=2, verify=tls),
            )
        return self._http

    def _get(self, path: str, params: Mapping[str, Any], what: str) -> dict[str, Any]:
        """The JSON answer of ``GET path``; MLflow's and the network's errors as Steward's kinds."""
        try:
            response = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"cannot reach the MLflow tracking server at {self.location} ({what}): {exc}",
                {"tracking_uri": self.location},
            ) from exc
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = None
        found = answer if isinstance(answer, dict) else {}
        message = str(found.get("message") or response.text[:300])
        if status in (401, 403):
            raise Unauthenticated(
                f"MLflow at {self.location} refused the credentials (HTTP {status}) for {what}: {message}; "
                "set "
                "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
                {"tracking_uri": self.location, "status": status},
            )
        if status == 404 and found.get("error_code") == "RESOURCE_DOES_NOT_EXIST":
            raise NotFound(f"MLflow at {self.location} has no {what}: {message}")
        if not isinstance(answer, dict):
            raise Unavailable(
                f"{self.location} did not answer {what} like an MLflow tracking server (HTTP {status})",
                {"tracking_uri": self.location, "status": status},
            )
        if status != 200:
            raise Unavailable(
                f"MLflow at {self.location} failed {what} (HTTP {status}): {message}",
                {"tracking_uri": self.location, "status": status},
            )
        return answer

    def warm(self) -> None:
        """Import MLflow, build the clients and make one call through each (seconds, once: the
        client's first call sets up its HTTP session), so the first event is quick. A server not
        up yet is no error here."""
        _ = self.client, self.http
        with suppress(StewardError), self._calls("experiments"):
            self.client.search_experiments(max_results=1)
        with suppress(StewardError):
            self.check()

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Turn MLflow's and the network's errors into Steward's kinds, naming what was asked."""
        from mlflow.exceptions import MlflowException, RestException

        try:
            yield
        except StewardError:
            raise
        except RestException as exc:
            code = exc.error_code
            if code in {"UNAUTHENTICATED", "PERMISSION_DENIED"}:
                raise Unauthenticated(f"MLflow at {self.location} refused {what}: {exc.message}") from exc
            if code == "RESOURCE_DOES_NOT_EXIST":
                raise NotFound(f"MLflow at {self.location} has no {what}: {exc.message}") from exc
            raise Unavailable(f"MLflow at {self.location} failed {what}: {exc.message}") from exc
        except MlflowException as exc:
            text = str(exc.message)
            if "401" in text or "403" in text:
                raise Unauthenticated(f"MLflow at {self.location} refused {what}: {text[:300]}") from exc
            raise Unavailable(f"MLflow at {self.location} failed {what}: {text[:300]}") from exc
        except OSError as exc:
            raise Unavailable(f"cannot reach MLflow at {self.location} ({what}): {exc}") from exc

    # -- reachability --------------------------------------------------------------------------

    def check(self) -> None:
        self._get("/registered-models/search", {"max_results": 1}, "a first request")

    def external_id(self, model: str, version: str) -> str:
        return f"{self.location}/#/models/{quote(model, safe='')}/versions/{version}"

    def _model_url(self, model: str) -> str:
        return f"{self.location}/#/models/{quote(model, safe='')}"

    # -- experiments and runs ------------------------------------------------------------------

    def experiments(self, names: Sequence[str] | None) -> list[SourceExperiment]:
        with self._calls("experiments"):
            if names:
                found = [self.client.get_experiment_by_name(n) for n in names]
                return [SourceExperiment(e.experiment_id, e.name) for e in found if e is not None]
            result: list[SourceExperiment] = []
            token = None
            while True:
                page = self.client.search_experiments(max_results=PAGE, page_token=token)
                result += [SourceExperiment(e.experiment_id, e.name) for e in page]
                token = page.token
                if not token:
                    return result

    def runs(self, experiments: Sequence[SourceExperiment]) -> Iterator[SourceRun]:
        if not experiments:
            return
        names = {e.id: e.name for e in experiments}
        ids = list(names)
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            token = None
            while True:
                with self._calls("runs"):
                    page = self.client.search_runs(chunk, max_results=PAGE, page_token=token)
                for run in page:
                    yield self._run(run, names.get(run.info.experiment_id, run.info.experiment_id))
                token = page.token
                if not token:
                    break

    def run(self, run_id: str) -> SourceRun | None:
        try:
            with self._calls(f"run {run_id}"):
                run = self.client.get_run(run_id)
        except NotFound:
            return None
        experiment = run.info.experiment_id
        try:
            with self._calls(f"experiment {experiment}"):
                experiment = self.client.get_experiment(experiment).name
        except NotFound:
            pass
        return self._run(run, experiment)

    def _run(self, run: Any, experiment: str) -> SourceRun:
        tags: dict[str, str] = dict(run.data.tags)
        datasets = []
        for item in getattr(run.inputs, "dataset_inputs", None) or []:
            ds = item.dataset
            context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), None)
            datasets.append(
                SourceDataset(
                    name=ds.name,
                    digest=ds.digest,
                    source_type=ds.source_type or "",
                    source=ds.source or "",
                    schema=ds.schema or None,
                    row_count=_row_count(ds.profile),
                    context=context,
                )
            )
        return SourceRun(
            run_id=run.info.run_id,
            experiment=experiment,
            status=run.info.status,
            user=run.info.user_id or tags.get("mlflow.user", ""),
            parameters=dict(run.data.params),
            metrics=dict(run.data.metrics),
            tags=tags,
            parent_run_id=tags.get("mlflow.parentRunId"),
            code_commit=tags.get("mlflow.source.git.commit"),
            code_repository=tags.get("mlflow.source.git.repoURL"),
            source_name=tags.get("mlflow.source.name"),
            started_at=_time(run.info.start_time),
            ended_at=_time(run.info.end_time),
            datasets=tuple(datasets),
            deleted=run.info.lifecycle_stage == "deleted",
        )

    # -- registered models and versions --------------------------------------------------------

    def _model(self, rm: Mapping[str, Any]) -> SourceModel:
        """A registered model from MLflow's JSON (``RegisteredModel``)."""
        return SourceModel(
            name=rm["name"],
            url=self._model_url(rm["name"]),
            description=rm.get("description") or "",
            tags={t["key"]: t.get("value", "") for t in rm.get("tags") or ()},
            aliases={str(a["alias"]): str(a["version"]) for a in rm.get("aliases") or ()},
        )

    def models(self, names: Sequence[str] | None) -> Iterator[SourceModel]:
        if names:
            for name in names:
                found = self.model(name)
                if found is not None:
                    yield found
            return
        params: dict[str, Any] = {"max_results": PAGE}
        while True:
            page = self._get("/registered-models/search", params, "registered models")
            for rm in page.get("registered_models") or ():
                yield self._model(rm)
            params["page_token"] = page.get("next_page_token")
            if not params["page_token"]:
                return

    def model(self, name: str) -> SourceModel | None:
        try:
            found = self._get("/registered-models/get", {"name": name}, f"registered model {name!r}")
        except NotFound:
            return None
        return self._model(found["registered_model"])

    def _version(self, mv: Mapping[str, Any], aliases: Mapping[str, str]) -> SourceVersion:
        """A model version from MLflow's JSON (``ModelVersion``)."""
        source = mv.get("source") or ""
        model_id = mv.get("model_id")
        if not model_id and source.startswith("models:/m-"):
            model_id = source.removeprefix("models:/").split("/")[0]
        version = str(mv["version"])
        held = {a for a, v in aliases.items() if v == version} | set(mv.get("aliases") or ())
        return SourceVersion(
            model=mv["name"],
            version=version,
            external_id=self.external_id(mv["name"], version),
            source=source,
            status=str(mv.get("status") or ""),
            run_id=mv.get("run_id") or None,
            description=mv.get("description") or "",
            tags={t["key"]: t.get("value", "") for t in mv.get("tags") or ()},
            aliases=tuple(sorted(held)),
            logged_model_id=model_id or None,
        )

    def versions(self, models: Sequence[SourceModel]) -> Iterator[SourceVersion]:
        """Each model's versions together, oldest first (the port's promise), by name: in pages of
        ``PAGE`` so that a harvest writes one page while MLflow answers the next."""
        by_name = {m.name: m for m in models}
        filters = [f"name='{_quote_filter(m.name)}'" for m in models] if len(models) <= 20 else [""]
        for query in filters:
            params: dict[str, Any] = {"max_results": PAGE, "order_by": VERSION_ORDER}
            if query:
                params["filter"] = query
            while True:
                page = self._get("/model-versions/search", params, "model versions")
                for mv in page.get("model_versions") or ():
                    owner = by_name.get(mv["name"])
                    if owner is not None:
                        yield self._version(mv, owner.aliases)
                params["page_token"] = page.get("next_page_token")
                if not params["page_token"]:
                    break

    def version(self, model: str, version: str) -> SourceVersion | None:
        owner = self.model(model)
        if owner is None:
            return None
        try:
            found = self._get(
                "/model-versions/get", {"name": model, "version": version}, f"version {version} of {model!r}"
            )
        except NotFound:
            return None
        return self._version(found["model_version"], owner.aliases)

    # -- artefacts -----------------------------------------------------------------------------

    def artifact(self, version: SourceVersion) -> SourceArtifact:
        """The artefact's digest from its files when they can be read (``auto``, ``files``), else
        from MLflow's metadata (``auto`` falls back, ``files`` refuses, ``metadata`` never reads)."""
        if self.digest_mode != "metadata":
            try:
                return self._artifact_from_files(version)
            except (StewardError, OSError, ValueError) as error:
                if self.digest_mode == "files":
                    raise Unavailable(
                        f"the artefact files of {version.external_id} cannot be read: {error}"
                    ) from error
                note = f"files unreadable ({type(error).__name__}); digest from MLflow metadata"
                return SourceArtifact(
                    version.source, _digest.metadata_digest(version.source), "metadata", note=note
                )
        return SourceArtifact(version.source, _digest.metadata_digest(version.source), "metadata")

    def _artifact_from_files(self, version: SourceVersion) -> SourceArtifact:
        import mlflow.artifacts

        if not version.source:
            raise ValueError("the version names no source")
        with tempfile.TemporaryDirectory(prefix="steward-artifact-") as folder:
            from mlflow.exceptions import MlflowException

            try:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=version.source,
                    dst_path=folder,
                    tracking_uri=self.location,
                    registry_uri=self.location,
                )
            except MlflowException as exc:
                raise ValueError(str(exc.message)[:300]) from exc
            except Exception as exc:  # artifact stores raise their own errors (boto, azure…)
                raise ValueError(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
            root = Path(local)
            if root.is_file():
                root = root.parent
            digest, mlmodel = _digest.tree_digest(root)
            return SourceArtifact(
                uri=version.source,
                digest=digest,
                method="files",
                python_version=_digest.python_version(mlmodel),
                dependency_lock_digest=_digest.lock_digest(root),
            )

    # -- writing back --------------------------------------------------------------------------

    def set_version_tags(self, model: str, version: str, tags: Mapping[str, str]) -> None:
        with self._calls(f"tags on {model} version {version}"):
            for key, value in tags.items():
                self.client.set_model_version_tag(model, version, key, value)

    def set_alias(self, model: str, alias: str, version: str) -> None:
        with self._calls(f"alias {alias} on {model}"):
            self.client.set_registered_model_alias(model, alias, version)

    def delete_alias(self, model: str, alias: str) -> None:
        with self._calls(f"alias {alias} on {model}"):
            self.client.delete_registered_model_alias(model, alias)

    # -- webhooks ------------------------------------------------------------------------------

    def connect(self, receiver_url: str, secret: str, events: Sequence[str], name: str = "steward") -> str:
        """Register (or update) the webhook named ``name`` that sends ``events`` to ``receiver_url``;
        gives the webhook's id."""
        with self._calls("webhooks"):
            existing = None
            token = None
            while existing is None:
                page = self.client.list_webhooks(max_results=100, page_token=token)
                existing = next((w for w in page if w.name == name), None)
                token = page.token
                if not token:
                    break
            description = "Steward: governance records, write-back tags and alias guard"
            if existing is not None:
                hook = self.client.update_webhook(
                    existing.webhook_id,
                    url=receiver_url,
                    events=list(events),  # type: ignore[arg-type]  # validated by MLflow
                    secret=secret,
                    description=description,
                    status="ACTIVE",
                )
            else:
                hook = self.client.create_webhook(
                    name=name,
                    url=receiver_url,
                    events=list(events),  # type: ignore[arg-type]  # validated by MLflow
                    secret=secret,
                    description=description,
                )
            return str(hook.webhook_id)


def _quote_filter(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def _row_count(profile: str | None) -> int | None:
    if not profile:
        return None
    try:
        data = json.loads(profile)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("num_rows", "rows"):
        if isinstance(data.get(key), int):
            return int(data[key])
    shape = data.get("features_shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], int):
        return int(shape[0])
    return None
