"""Metrics in words (SPEC M1): the unit follows the size, and nothing reads as a zero or a
median of nothing."""

import pytest

from recruitment.reports import days_words, duration_words, hours_words, minutes_words


@pytest.mark.parametrize(("hours", "words"), [
    (None, None),
    (0, "Under a minute"),
    (0.5 / 60, "Under a minute"),
    (1 / 60, "1 minute"),
    (0.5, "30 minutes"),
    (77 / 60, "77 minutes"),
    (119 / 60, "119 minutes"),
    (2, "2 hours"),
    (6.5, "6.5 hours"),
    (45, "45 hours"),
    (47.9, "47.9 hours"),
    (48, "2 days"),
    (84, "3.5 days"),
    (24 * 1234.5, "1,234.5 days"),
])
def test_a_duration_is_written_in_the_unit_its_size_calls_for(hours, words):
    assert duration_words(hours) == words


def test_each_metric_converts_to_the_same_words():
    assert minutes_words(2700) == "45 hours"  # was "2,700 minutes"
    assert hours_words(0.02) == "1 minute"  # was "0.0 hours"
    assert days_words(0.01) == "14 minutes"  # was "0.0 days"
    assert days_words(None) is None
