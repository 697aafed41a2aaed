"""Peer connection lifecycle: create from an offer, watch, close, forget.

Every session ends in :meth:`PeerManager.close`, whichever way it ends (DELETE,
ICE failure, a viewer that never connects, shutdown), so no peer, task or
subscription outlives its viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from .broadcast import PacketSource, RtpBroadcast
from .ice import IcePolicy
from .sdp import PLAYOUT_DELAY, add_extension, offered_extension_id
from .tracks import PacketTrack

log = logging.getLogger(__name__)

# How long a farewell on the data channel gets before the peer connection closes.
FAREWELL_FLUSH = 0.2


class OfferError(ValueError):
    """The offer cannot be answered; the message tells the client why."""


class NoCandidates(OfferError):
    """The relay gathered no ICE candidate: the viewer could never connect (503)."""


class TooManyNegotiating(Exception):
    """Too many peer connections are answered and not yet connected (503)."""


@dataclass
class Session:
    id: str
    resource: str  # what the viewer watches (a camera name); opaque here
    pc: RTCPeerConnection
    track: PacketTrack
    created: float = field(default_factory=time.monotonic)
    connected_at: float | None = None
    channels: list[RTCDataChannel] = field(default_factory=list)
    watchdog: asyncio.Task[None] | None = None
    on_close: list[Callable[[Session], None]] = field(default_factory=list)
    # Who opened it, as the application describes them (opaque here), and from where.
    owner: Mapping[str, Any] = field(default_factory=dict)
    remote: str | None = None
    started: float = field(default_factory=time.time)
    _sample: tuple[float, int] | None = None  # (monotonic time, bytes sent) at the last stats

    @property
    def state(self) -> str:
        return self.pc.connectionState

    async def stats(self) -> dict[str, Any]:
        """Bytes sent, the bitrate since the previous call (or since connecting), and the
        round-trip time from the viewer's receiver reports."""
        sent, rtt = 0, None
        for sender in self.pc.getSenders():
            try:
                report = await sender.getStats()
            except Exception:  # the transport may be closing underneath
                continue
            for item in report.values():
                if item.type == "outbound-rtp":
                    sent += int(getattr(item, "bytesSent", 0) or 0)
                elif item.type == "remote-inbound-rtp" and getattr(item, "roundTripTime", None):
                    rtt = float(item.roundTripTime)
        now = time.monotonic()
        since, before = self._sample or (self.connected_at or self.created, 0)
        elapsed = now - since
        bitrate = (sent - before) * 8 / elapsed if elapsed > 0.05 else None
        self._sample = (now, sent)
        return {
            "bytes_sent": sent,
            "bitrate": None if bitrate is None else round(bitrate),
            "rtt_ms": None if rtt is None else round(rtt * 1000, 1),
        }


DataChannelHandler = Callable[[Session, RTCDataChannel], None]


class PeerManager:
    """Owns every WebRTC session of the relay."""

    def __init__(
        self,
        ice: IcePolicy,
        *,
        connect_timeout: float = 20.0,
        disconnect_grace: float = 5.0,
        direct_rtp: bool = True,
        udp_gso: bool = True,
        zero_playout_delay: bool = False,
        max_negotiating: int = 64,
    ) -> None:
        self.ice = ice
        # Answered and not yet connected: each holds sockets and a DTLS handshake.
        self.max_negotiating = max_negotiating
        self.direct_rtp = direct_rtp  # False: every viewer through aiortc's own sender
        self.udp_gso = udp_gso  # False: one system call per packet
        self.zero_playout_delay = zero_playout_delay  # ask browsers to render without delay
        # One broadcast per watched resource: its frames are packetized once for all viewers.
        self._broadcasts: dict[str, RtpBroadcast] = {}
        self.connect_timeout = connect_timeout
        self.disconnect_grace = disconnect_grace
        self.sessions: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.created = 0
        self.closed = 0

    def negotiating(self) -> int:
        return sum(1 for s in self.sessions.values() if s.connected_at is None)

    def count(self, resource: str | None = None) -> int:
        if resource is None:
            return len(self.sessions)
        return sum(1 for s in self.sessions.values() if s.resource == resource)

    async def answer(
        self,
        resource: str,
        offer_sdp: str,
        source: PacketSource,
        on_datachannel: DataChannelHandler | None = None,
        *,
        owner: Mapping[str, Any] | None = None,
        remote: str | None = None,
        ice_servers: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[Session, str]:
        """Answer a viewer's offer; returns the session and the SDP answer.

        The answer is sent only after ICE gathering completes (aiortc does not trickle).
        ``ice_servers``: this session's STUN/TURN servers (default: the policy's static ones).
        """
        if self.negotiating() >= self.max_negotiating:
            raise TooManyNegotiating(
                f"{self.max_negotiating} viewers are still connecting; try again shortly"
            )
        pc = RTCPeerConnection(self.ice.configuration(ice_servers))
        broadcast = None
        if self.direct_rtp:
            broadcast = self._broadcasts.get(resource)
            # A resource given a new source (a camera replaced on reload) gets a new
            # broadcast; the old one's viewers were ended with it.
            if broadcast is None or broadcast.source is not source:
                broadcast = self._broadcasts[resource] = RtpBroadcast(source)
        track = PacketTrack(source, broadcast, udp_gso=self.udp_gso)
        session = Session(
            secrets.token_urlsafe(12), resource, pc, track, owner=dict(owner or {}), remote=remote
        )
        self.sessions[session.id] = session
        self.created += 1
        try:
            await self._negotiate(session, offer_sdp, on_datachannel)
        except BaseException:
            await self.close(session.id)
            raise
        session.watchdog = self._spawn(self._watch_connect(session))
        return session, self._final_answer(session, offer_sdp, pc.localDescription.sdp)

    def _final_answer(self, session: Session, offer: str, answer: str) -> str:
        """Accept Chromium's playout-delay extension, which aiortc does not know.

        The direct RTP writer then sends min = max = 0 with every packet: Chromium
        renders each frame as soon as it is decoded instead of smoothing playout.
        """
        if not self.zero_playout_delay:
            return answer
        ext_id = offered_extension_id(offer, PLAYOUT_DELAY)
        edited = add_extension(answer, ext_id, PLAYOUT_DELAY) if ext_id else None
        if edited is None:
            return answer
        session.track.playout_delay_id = ext_id
        return edited

    async def _negotiate(
        self, session: Session, offer_sdp: str, on_datachannel: DataChannelHandler | None
    ) -> None:
        pc = session.pc

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            state = pc.connectionState
            log.debug("session %s: %s", session.id, state)
            if state == "connected":
                session.connected_at = time.monotonic()
            elif state in ("failed", "closed"):
                self._spawn(self.close(session.id))
            elif state == "disconnected":
                self._spawn(self._close_unless_recovered(session))

        @pc.on("datachannel")
        def _on_channel(channel: RTCDataChannel) -> None:
            session.channels.append(channel)
            if on_datachannel is not None:
                on_datachannel(session, channel)

        try:
            offer = RTCSessionDescription(sdp=offer_sdp, type="offer")
            await pc.setRemoteDescription(offer)
        except Exception as exc:  # aiortc raises many kinds on bad SDP
            raise OfferError(f"invalid SDP offer: {exc or type(exc).__name__}") from exc
        video = [t for t in pc.getTransceivers() if t.kind == "video"]
        if not video:
            raise OfferError("the offer has no video section")
        if "a=candidate:" not in offer_sdp:
            # aiortc takes no trickled candidates (PATCH answers 405): with none in the offer
            # its ICE fails at once, and the answer would go out with no candidate of ours.
            raise OfferError(
                "the offer carries no ICE candidate: gather candidates before sending it"
                " (this relay answers with all of its own and takes none trickled later)"
            )
        codecs = [
            c
            for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType.lower() in ("video/vp8", "video/rtx")
        ]
        transceiver = video[0]
        try:
            transceiver.setCodecPreferences(codecs)
        except Exception as exc:
            raise OfferError(f"cannot use VP8 with this offer: {exc}") from exc
        sender = pc.addTrack(session.track)
        session.track.bind(sender, next(t for t in pc.getTransceivers() if t.sender is sender))
        try:
            answer = await pc.createAnswer()
        except Exception as exc:
            raise OfferError(f"cannot answer this offer: {exc or type(exc).__name__}") from exc
        if "VP8" not in answer.sdp:
            raise OfferError("the offer does not accept VP8 video")
        try:
            with self.ice.gathering():
                await pc.setLocalDescription(answer)
        except Exception as exc:
            # aiortc answers some malformed offers and then fails to apply its own answer
            # (an m-line it could not match to a transceiver): the offer is at fault.
            raise OfferError(f"cannot answer this offer: {exc or type(exc).__name__}") from exc
        if "a=candidate:" not in pc.localDescription.sdp:
            if self.ice.relay_only:
                raise NoCandidates(
                    "ice.relay_only is on and the relay got no relayed candidate from its"
                    " TURN servers (unreachable, or wrong credentials)"
                )
            if self.ice.can_offer_an_address():
                # The relay has addresses: aiortc dropped them because ICE had already
                # failed on what the offer gave it (a transport with no candidate).
                raise OfferError(
                    "no ICE candidate usable with this offer: each bundled transport needs"
                    " the client's candidates in the offer"
                )
            raise NoCandidates(
                "the relay has no network address to offer this viewer"
                + (f" (ice.addresses = {list(self.ice.addresses)})" if self.ice.addresses else "")
            )

    async def _watch_connect(self, session: Session) -> None:
        """A viewer that posted an offer and never connected is forgotten."""
        await asyncio.sleep(self.connect_timeout)
        if session.id in self.sessions and session.connected_at is None:
            log.info("session %s: never connected; closing", session.id)
            await self.close(session.id)

    async def _close_unless_recovered(self, session: Session) -> None:
        await asyncio.sleep(self.disconnect_grace)
        if session.id in self.sessions and session.pc.connectionState == "disconnected":
            log.info(
                "session %s: disconnected for %.0f s; closing", session.id, self.disconnect_grace
            )
            await self.close(session.id)

    async def close(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        self.closed += 1
        if session.watchdog is not None and session.watchdog is not asyncio.current_task():
            session.watchdog.cancel()
        session.track.stop()
        for callback in session.on_close:
            try:
                callback(session)
            except Exception:
                log.exception("session %s: close callback failed", session_id)
        with contextlib.suppress(Exception):
            await session.pc.close()
        log.info("session %s (%s) closed", session_id, session.resource)
        return True

    async def end(self, session_id: str, reason: str) -> bool:
        """Close a session on purpose, telling the viewer first on its data channels
        (``{"op": "event", "kind": "session_ended", "reason": ...}``) so that its page
        stops instead of reconnecting."""
        session = self.sessions.get(session_id)
        if session is None:
            return False
        farewell = json.dumps({"op": "event", "kind": "session_ended", "reason": reason})
        sent = False
        for channel in session.channels:
            if channel.readyState == "open":
                with contextlib.suppress(Exception):
                    channel.send(farewell)
                    sent = True
        if sent:
            await asyncio.sleep(FAREWELL_FLUSH)  # SCTP sends it before the transport closes
        return await self.close(session_id)

    async def end_matching(self, match: Callable[[Mapping[str, Any]], bool], reason: str) -> int:
        """End every session whose owner matches; returns how many."""
        chosen = [sid for sid, s in self.sessions.items() if match(s.owner)]
        results = await asyncio.gather(*(self.end(sid, reason) for sid in chosen))
        return sum(results)

    async def close_resource(self, resource: str) -> int:
        """Close every session of one resource (a camera removed or replaced); returns how
        many. No farewell: the pages reconnect, and find the camera again if it is still
        there, or say it is gone."""
        chosen = [sid for sid, s in self.sessions.items() if s.resource == resource]
        results = await asyncio.gather(*(self.close(sid) for sid in chosen))
        self._broadcasts.pop(resource, None)
        return sum(results)

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(sid) for sid in list(self.sessions)))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
