"""A request body read whole, up to a limit, for every route that reads one.

``StreamReader.read(n)`` returns as soon as *some* bytes are there: a body sent in
several pieces would be cut short. This reads to the end, and stops reading (and says
so) once the limit is passed, whatever Content-Length claims.
"""

from __future__ import annotations

from aiohttp import web


class BodyTooLarge(Exception):
    def __init__(self, limit: int, size: int | None = None) -> None:
        # The same words as signaling.jsontext's, for bodies never read whole.
        told = f"{size} bytes" if size is not None else f"more than {limit} bytes"
        super().__init__(f"too large: {told} (limit {limit})")
        self.limit = limit


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body; raises BodyTooLarge past ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit, request.content_length)
    body = bytearray()
    while True:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
