"""The ``steward`` command line. :func:`main` is the one entry point and the one exit path."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from steward.cli import (  # noqa: F401  (they register their commands)
    _admin,
    _checks,
    _gates,
    _incidents,
    _ledger,
    _mlflow,
    _models,
    _policy,
    _serve,
    _workflow,
)
from steward.cli._app import app
from steward.cli._output import fail
from steward.errors import StewardError

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (documented in docs/reference/cli.md).

    Usage errors exit 2 (Typer's own handling); a :class:`StewardError` prints one sentence and
    exits with its kind's code.
    """
    try:
        app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="steward")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except StewardError as error:
        return fail(error)
    return 0


def entry() -> None:
    sys.exit(main())
