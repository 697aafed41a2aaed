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

    def put(self, item: T) -> bool:
        """Store ``item``; True when it replaced an item nobody had taken."""
        replaced = self._item is not None
        self._item = item
        self._event.set()
        return replaced

    async def take(self) -> T:
        while self._item is None:
            self._event.clear()
            await self._event.wait()
        item, self._item = self._item, None
        return item
