"""MLflow: harvest the tracking server and model registry, receive its webhooks, guard its aliases.

``MlflowSource`` is the :class:`~steward.domain.ModelSource`; ``webhook`` verifies and parses
deliveries (HMAC signature, timestamp) without importing MLflow.
"""

from steward.connectors.mlflow import _webhook as webhook
from steward.connectors.mlflow._source import DIGEST_MODES, MlflowSource

__all__ = ["DIGEST_MODES", "MlflowSource", "webhook"]
