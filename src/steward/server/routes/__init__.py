"""REST routes under ``/api/v1``; each names its action and calls one use case."""
