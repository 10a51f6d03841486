"""The store against a plain model: create, reserve, exhaust, disable, in any order."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import cardseq
from cardseq import CardSeries
from cardseq.store import open_store

from .stores import check_ledger

PREFIXES = ["1", "12", "123", "2", "AB", "AC", "ab", "a1", ""]


class StoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = open_store("memory://", keys={"k": bytes(range(32))})
        # code -> [pattern, capacity, next index, enabled]
        self.model: dict[str, list] = {}

    def teardown(self) -> None:
        self.store.close()

    @rule(
        code=st.sampled_from(["A", "B", "C", "D", "E"]),
        prefix=st.sampled_from(PREFIXES),
        length=st.integers(5, 6),
        offset=st.integers(0, 99_990),
        method=st.sampled_from(["DEFAULT", "LUHN", "RANDOM_MOD7"]),
    )
    def create(self, code, prefix, length, offset, method):
        try:
            key_id = "k" if method.startswith("RANDOM") else None
            series = CardSeries(
                code, prefix=prefix, length=length, method=method, offset=offset, key_id=key_id
            )
        except cardseq.InvalidOffset:
            return
        overlap = any(
            cardseq.series.readings_overlap(series.pattern, m[0]) for m in self.model.values()
        )
        try:
            self.store.create_series(series)
        except cardseq.SeriesExists:
            assert code in self.model
        except cardseq.SeriesOverlap:
            assert code not in self.model and overlap
        else:
            assert code not in self.model and not overlap
            self.model[code] = [series.pattern, series.capacity, 0, True]

    @precondition(lambda self: self.model)
    @rule(data=st.data(), count=st.integers(1, 40_000))
    def reserve(self, data, count):
        code = data.draw(st.sampled_from(sorted(self.model)))
        _, capacity, used, enabled = self.model[code]
        try:
            block = self.store.reserve(code, count)
        except cardseq.GenerationDisabled:
            assert not enabled
        except cardseq.SeriesExhausted:
            assert enabled and used + count > capacity
        else:
            assert enabled and used + count <= capacity
            assert (block.start, block.count) == (used, count)
            self.model[code][2] = used + count

    @precondition(lambda self: self.model)
    @rule(data=st.data(), enabled=st.booleans())
    def toggle(self, data, enabled):
        code = data.draw(st.sampled_from(sorted(self.model)))
        self.store.set_enabled(code, enabled)
        self.model[code][3] = enabled

    @invariant()
    def matches_model(self):
        for code, (_, capacity, used, enabled) in self.model.items():
            info = self.store.series(code)
            assert (info.next_index, info.enabled, info.remaining) == (
                used,
                enabled,
                capacity - used,
            )
            check_ledger(self.store, code)


StoreModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_store_matches_model = StoreModel.TestCase
test_store_matches_model.pytestmark = [pytest.mark.heavy]


@pytest.mark.heavy
def test_model_notices_a_broken_store(monkeypatch):
    """The machine is not vacuous: a store whose switch does nothing is caught."""
    from cardseq.store import base

    monkeypatch.setattr(base.Store, "set_enabled", lambda self, ref, enabled: None)
    with pytest.raises((AssertionError, ExceptionGroup)):
        StoreModel.TestCase().runTest()
