"""Connectors to the platforms teams train on. Each implements a port of ``steward.domain``
(:class:`~steward.domain.ModelSource`) and imports its platform's library lazily, so
``import steward`` needs none of them. The entry points (CLI, server) build them."""
