"""Reading JoggAI's remaining quota (jogg-v2.yaml: ``data: {remaining_quota: number}``),
one row per answer, tolerant of a numeric string and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from reelform.errors import RejectedError
from reelform.providers.jogg_answers import remaining_quota


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ({"remaining_quota": 1000.0}, 1000.0),
        ({"remaining_quota": 3}, 3.0),
        ({"remaining_quota": 0}, 0.0),
        ({"remaining_quota": "12.5"}, 12.5),  # a number as a string
        ({"remaining_quota": -1}, -1.0),  # an overdrawn account is still a reading
    ],
)
def test_a_reading(data: Any, value: float) -> None:
    assert remaining_quota(data) == value


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"remaining_quota": None},
        {"remaining_quota": True},
        {"remaining_quota": "lots"},
        {"remaining_quota": "nan"},
        {"remaining_quota": "inf"},
        {"remaining_quota": [1]},
        [1000],
    ],
)
def test_no_reading(data: Any) -> None:
    with pytest.raises(RejectedError, match="remaining_quota: answer without a number"):
        remaining_quota(data)
