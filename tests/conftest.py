"""Shared test configuration: Hypothesis settings profiles.

`ci` (the default) keeps the property tests inside CI's time budget; `nightly` searches much harder. Pick one with
the environment variable HYPOTHESIS_PROFILE, e.g. `HYPOTHESIS_PROFILE=nightly pytest tests/test_check_properties.py`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "nightly",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
