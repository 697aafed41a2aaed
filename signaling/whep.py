"""WHEP (draft-ietf-wish-whep) endpoints over aiohttp.

``POST {endpoint}`` with an SDP offer answers ``201 Created``, the SDP answer and
a ``Location`` for the session; ``DELETE {Location}`` ends it.  CORS is open so
that players on other origins work.  Stream names are opaque here: a resolver
given by the application turns a name into a packet source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .body import BodyTooLarge, read_body
from .broadcast import PacketSource
from .peers import (
    DataChannelHandler,
    NoCandidates,
    OfferError,
    PeerManager,
    Session,
    TooManyNegotiating,
)

log = logging.getLogger(__name__)

MAX_OFFER_BYTES = 128 * 1024

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, If-Match",
    "Access-Control-Expose-Headers": "Location, Link, ETag, Accept-Patch",
    "Access-Control-Max-Age": "86400",
}


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": code, "message": message}, status=status, headers=CORS_HEADERS
    )


@dataclass
class WhepStream:
    """What the resolver returns for a stream name and the request asking for it."""

    source: PacketSource
    max_viewers: int = 200
    on_datachannel: DataChannelHandler | None = None
    # Who asks, as the application describes them: kept on the session, opaque here.
    owner: Mapping[str, Any] = field(default_factory=dict)
    # This session's STUN/TURN servers; None: the relay's static ones.
    ice_servers: Sequence[Mapping[str, Any]] | None = None


Resolver = Callable[[str, web.Request], WhepStream | None]
# Whether this request may end this session (DELETE); by default anyone who knows its URL.
EndPolicy = Callable[[web.Request, Session], bool]


class WhepEndpoints:
    """Routes: ``/cameras/{name}/whep`` (and ``/whep`` for the default stream)."""

    def __init__(
        self,
        peers: PeerManager,
        resolve: Resolver,
        default_name: str,
        may_end: EndPolicy | None = None,
        on_end: Callable[[web.Request, Session], None] | None = None,
    ) -> None:
        self.peers = peers
        self.resolve = resolve
        self.default_name = default_name
        self.may_end = may_end or (lambda _request, _session: True)
        self.on_end = on_end

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/whep", self._post_default)
        r.add_route("OPTIONS", "/whep", self._options)
        r.add_post("/cameras/{name}/whep", self._post)
        r.add_route("OPTIONS", "/cameras/{name}/whep", self._options)
        r.add_delete("/cameras/{name}/whep/{session}", self._delete)
        r.add_route("PATCH", "/cameras/{name}/whep/{session}", self._patch)
        r.add_route("OPTIONS", "/cameras/{name}/whep/{session}", self._options)

    async def _options(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={**CORS_HEADERS, "Accept-Post": "application/sdp"})

    async def _post_default(self, request: web.Request) -> web.Response:
        return await self._offer(request, self.default_name)

    async def _post(self, request: web.Request) -> web.Response:
        return await self._offer(request, request.match_info["name"])

    async def _offer(self, request: web.Request, name: str) -> web.Response:
        stream = self.resolve(name, request)
        if stream is None:
            return json_error(404, "not_found", f"no camera named {name!r}")
        if request.content_type != "application/sdp":
            return json_error(
                415, "unsupported_media_type", "the offer must be sent as application/sdp"
            )
        try:
            body = await read_body(request, MAX_OFFER_BYTES)
        except BodyTooLarge:
            return json_error(413, "too_large", f"offers are limited to {MAX_OFFER_BYTES} bytes")
        except Exception as exc:
            return json_error(400, "bad_request", f"cannot read the offer: {exc}")
        try:
            offer = body.decode("utf-8")
        except UnicodeDecodeError:
            return json_error(400, "bad_request", "the offer is not UTF-8 text")
        if not offer.lstrip().startswith("v=0"):
            return json_error(400, "bad_request", "the body is not an SDP offer (no 'v=0' line)")
        if self.peers.count(name) >= stream.max_viewers:
            return json_error(503, "full", f"camera {name!r} has its maximum of viewers")
        try:
            session, answer = await self.peers.answer(
                name,
                offer,
                stream.source,
                stream.on_datachannel,
                owner=stream.owner,
                remote=request.remote,
                ice_servers=stream.ice_servers,
            )
        except TooManyNegotiating as exc:
            return json_error(503, "busy", str(exc))
        except NoCandidates as exc:
            log.warning("camera %s: %s", name, exc)
            return json_error(503, "no_candidates", str(exc))
        except OfferError as exc:
            return json_error(400, "bad_offer", str(exc))
        location = f"/cameras/{name}/whep/{session.id}"
        log.info("camera %s: viewer session %s from %s", name, session.id, request.remote)
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={**CORS_HEADERS, "Location": location, "ETag": f'"{session.id}"'},
        )

    async def _delete(self, request: web.Request) -> web.Response:
        sid = request.match_info["session"]
        session = self.peers.sessions.get(sid)
        if session is None or session.resource != request.match_info["name"]:
            return json_error(404, "not_found", "no such session")
        if not self.may_end(request, session):
            return json_error(
                403, "forbidden", "only who opened this session, or an admin, may end it"
            )
        if self.on_end is not None:
            self.on_end(request, session)
        await self.peers.close(sid)
        return web.Response(status=200, headers=CORS_HEADERS)

    async def _patch(self, request: web.Request) -> web.Response:
        # Candidates are all in the answer: aiortc gathers before answering.
        return json_error(405, "not_supported", "trickle ICE and ICE restarts are not supported")
