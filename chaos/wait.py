"""The one wait-with-deadline loop: poll a condition until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float, poll: float = 0.05,
               retry_on: tuple[type[BaseException], ...] = ()) -> Any:
    """Call ``condition()`` until it returns something truthy (returned) or ``timeout`` seconds
    pass (None). Exceptions of the ``retry_on`` types count as "not yet"; others propagate."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except retry_on:
            result = None
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)
