"""Item and build states: the store's strings, and the moves allowed between them."""

from __future__ import annotations

import pytest

from crosscheck.model.states import (
    ACTIVE_ITEM_STATES,
    BUILD_TRANSITIONS,
    ITEM_TRANSITIONS,
    LIVE_BUILD_STATES,
    BuildState,
    ItemState,
    check_build_move,
    check_item_move,
)


def test_the_values_are_the_strings_the_store_holds() -> None:
    assert [s.value for s in ItemState] == [
        "new",
        "running",
        "finished",
        "skipped",
        "superseded",
        "dequeued",
    ]
    assert [s.value for s in BuildState] == [
        "waiting",
        "running",
        "finished",
        "interrupted",
        "canceled",
    ]
    assert isinstance(ItemState.NEW, str)  # compares, hashes and formats as the string
    assert f"{BuildState.CANCELED}" == "canceled"


def test_active_items_are_those_that_can_still_move() -> None:
    assert set(ITEM_TRANSITIONS) == set(ItemState)
    assert {s for s in ItemState if ITEM_TRANSITIONS[s]} == ACTIVE_ITEM_STATES
    assert set(BUILD_TRANSITIONS) == set(BuildState)
    assert {BuildState.WAITING, BuildState.RUNNING} == LIVE_BUILD_STATES


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        (ItemState.NEW, ItemState.RUNNING),
        (ItemState.NEW, ItemState.FINISHED),  # no job applies
        (ItemState.NEW, ItemState.SKIPPED),
        (ItemState.NEW, ItemState.SUPERSEDED),
        (ItemState.NEW, ItemState.DEQUEUED),
        (ItemState.RUNNING, ItemState.FINISHED),
        (ItemState.RUNNING, ItemState.SUPERSEDED),
        (ItemState.RUNNING, ItemState.DEQUEUED),
    ],
)
def test_the_item_moves_the_engine_makes_are_allowed(
    from_state: ItemState, to_state: ItemState
) -> None:
    check_item_move(from_state, to_state)


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        (BuildState.WAITING, BuildState.RUNNING),
        (BuildState.WAITING, BuildState.FINISHED),  # ended before a node took it
        (BuildState.WAITING, BuildState.CANCELED),
        (BuildState.RUNNING, BuildState.FINISHED),
        (BuildState.RUNNING, BuildState.CANCELED),
        (BuildState.RUNNING, BuildState.INTERRUPTED),  # found running after a restart
        (BuildState.INTERRUPTED, BuildState.FINISHED),  # no attempt left
    ],
)
def test_the_build_moves_the_engine_makes_are_allowed(
    from_state: BuildState, to_state: BuildState
) -> None:
    check_build_move(from_state, to_state)


def test_a_move_not_allowed_names_both_states() -> None:
    with pytest.raises(ValueError, match="an item cannot move from 'finished' to 'running'"):
        check_item_move(ItemState.FINISHED, ItemState.RUNNING)
    with pytest.raises(ValueError, match="an item cannot move from 'running' to 'skipped'"):
        check_item_move(ItemState.RUNNING, ItemState.SKIPPED)
    with pytest.raises(ValueError, match="a build cannot move from 'canceled' to 'running'"):
        check_build_move(BuildState.CANCELED, BuildState.RUNNING)
    with pytest.raises(ValueError, match="a build cannot move from 'waiting' to 'interrupted'"):
        check_build_move(BuildState.WAITING, BuildState.INTERRUPTED)
