"""The fuzzing budget: a bounded, derandomised run in CI; a longer one on request; the count of cases tried.

``PHOTOSPEC_FUZZ_EXAMPLES=N`` runs N cases per target with fresh random draws (the CI budget is fixed
and derandomised, so CI is reproducible). ``tests/fuzz/conftest.py`` prints :data:`CASES` at the end.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

LONG = int(os.environ.get("PHOTOSPEC_FUZZ_EXAMPLES", "0") or 0)
CASES: Counter = Counter()  # cases tried per target, this session
VALID: Counter = Counter()  # of which the damaged input still gave a valid result (the rest: one clear error)


def fuzz_settings(ci_examples: int):
    """Hypothesis settings for one target: ``ci_examples`` cases in CI, ``PHOTOSPEC_FUZZ_EXAMPLES`` when set."""
    return settings(max_examples=LONG or ci_examples, deadline=None, database=None, derandomize=not LONG,
                    print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
