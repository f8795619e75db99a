"""Shares of items dealt back in order, as the ledger's verification readers hand out runs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from steward.storage._streams import in_turn


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=5))
def test_shares_dealt_as_slices_come_back_as_the_items(items: list[int], shares: int) -> None:
    assert list(in_turn([items[i::shares] for i in range(shares)])) == items


def test_the_first_share_to_run_out_ends_the_items() -> None:
    assert list(in_turn([[0, 2], [1]])) == [0, 1, 2]
    assert list(in_turn([[], [1]])) == []
