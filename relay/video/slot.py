"""The hand-off between two stages that never queues: the newest item wins."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item; a newer item replaces an unread one."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._event = asyncio.Event()
        self._interrupted = False

    def put(self, item: T) -> bool:
        """Store ``item``; True when it replaced an item nobody had taken."""
        replaced = self._item is not None
        self._item = item
        self._event.set()
        return replaced

    def interrupt(self) -> None:
        """Make the waiting (or next) :meth:`take` return None: the taker must look again
        at something other than items, such as a camera whose connection just closed."""
        self._interrupted = True
        self._event.set()

    def poll(self) -> T | None:
        """The item if there is one, without waiting."""
        item, self._item = self._item, None
        return item

    async def take(self) -> T | None:
        """The item, or None once after :meth:`interrupt`."""
        while self._item is None:
            if self._interrupted:
                self._interrupted = False
                return None
            self._event.clear()
            await self._event.wait()
        item, self._item = self._item, None
        return item
