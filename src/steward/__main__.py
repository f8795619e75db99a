"""``python -m steward``: the same as the ``steward`` command."""

from steward.cli import entry

entry()
