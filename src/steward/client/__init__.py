"""The Python SDK: :class:`Client` over the REST API, raising the same errors as the service."""

from steward.client._client import Client

__all__ = ["Client"]
