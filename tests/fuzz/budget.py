"""How hard the fuzz tests try: bounded and repeatable in the suite, 10,000 each in
``make fuzz``.

``ESP32_RELAY_FUZZ_EXAMPLES`` sets the number of examples per test. In the bounded mode the
examples are derived from the test itself (``derandomize``): a CI run fails only if the
code changed, never by the luck of the draw. The long mode draws fresh ones every run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("ESP32_RELAY_FUZZ_EXAMPLES", "40"))
LONG = EXAMPLES > 1000

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
