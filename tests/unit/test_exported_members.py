"""The public surface is what `steward.__all__` says, sorted, and each name resolves."""

from __future__ import annotations

import steward
import steward.errors


def test_all_is_sorted_and_resolves() -> None:
    names = [n for n in steward.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in steward.__all__:
        assert hasattr(steward, name), name


def test_every_error_class_is_public() -> None:
    for cls in steward.errors.all_error_classes():
        assert getattr(steward, cls.__name__) is cls
    assert steward.StewardError in steward.errors.ServerError.__mro__
