"""The shared rate limits count a sliding minute: a burst at the end of one minute and another at the start of
the next meet one limit, not two (a fixed window let twice the limit through across a minute's end)."""
import pytest
from django.core.cache import cache

from core import throttles

LIMIT, MINUTE = 10, 60


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000.0}  # a minute's start
    monkeypatch.setattr(throttles.time, "time", lambda: now["t"])
    cache.clear()
    yield now
    cache.clear()


def allowed(count: int) -> int:
    return sum(throttles.window_count("login:203.0.113.7", MINUTE) <= LIMIT for _ in range(count))


def test_a_burst_across_a_minutes_end_meets_one_limit_not_two(clock):
    clock["t"] += 59.5
    first = allowed(8)
    clock["t"] += 1  # half a second into the next minute
    second = allowed(20)

    assert first == 8
    assert first + second == LIMIT


def test_the_earlier_minute_weighs_less_as_it_slides_away(clock):
    assert allowed(15) == LIMIT
    clock["t"] += MINUTE + 30  # half-way through the next minute: the last minute's 15 count as 7.5
    assert allowed(10) == 2
    clock["t"] += MINUTE  # two minutes on: the 15 are gone, and the 10 of the minute before count half
    assert allowed(10) == 5


def test_a_quiet_client_gets_the_whole_limit_again_after_a_minute_and_more(clock):
    assert allowed(LIMIT) == LIMIT
    clock["t"] += 2 * MINUTE
    assert allowed(LIMIT + 5) == LIMIT
