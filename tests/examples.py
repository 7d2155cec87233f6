"""How many examples a Hypothesis test generates.

`make test` runs the default profile: a quarter of each test's full number (at least 10),
so the suite fits its five minutes on two cores. `HYPOTHESIS_PROFILE=slow make test` (nightly,
and before a release) runs every test's full number, and 200 for the tests that name none.
The strategies, the properties and their assertions are the same in both."""

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.register_profile("slow", max_examples=200)
settings.load_profile(PROFILE)


def examples(full):
    """`full` under the slow profile, a quarter of it (at least 10) by default."""
    return full if PROFILE == "slow" else max(10, full // 4)
