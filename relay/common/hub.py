"""Messages pushed to every subscriber (each viewer's data channel), in subscription order.

A camera's control service and its processing each keep one :class:`Subscribers`:
a viewer subscribes when its channel opens and unsubscribes when it closes. One
subscriber that raises is logged and skipped; the others still get the message.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Message = dict[str, Any]
Push = Callable[[Message], None]


class Subscribers:
    """The pushes of one message source; ``name`` says which source in the log."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pushes: dict[int, Push] = {}
        self._ids = itertools.count()
        self.broadcasts = 0

    def __len__(self) -> int:
        return len(self._pushes)

    def add(self, push: Push) -> Callable[[], None]:
        """Subscribe ``push``; returns the function that unsubscribes it."""
        key = next(self._ids)
        self._pushes[key] = push

        def unsubscribe() -> None:
            self._pushes.pop(key, None)

        return unsubscribe

    def broadcast(self, message: Message) -> None:
        self.broadcasts += 1
        for push in list(self._pushes.values()):
            try:
                push(message)
            except Exception:
                log.exception("%s: pushing a message failed", self.name)
