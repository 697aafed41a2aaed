"""Access control for real: logins and their cookie, tokens, the data channel's roles,
who may end a session, the sessions API, the audit log and the abuse limits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from yarl import URL

from relay.access.config import AuthConfig, LimitsConfig
from relay.config import RelayConfig
from relay.routes.keys import ACCESS
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.access import PASSWORDS, TOKENS, USERS, auth_config
from relay.testing.relay import RunningRelay, camera_at, running_relay
from relay.testing.whep import WhepViewer

TIMEOUT = aiohttp.ClientTimeout(total=20)


def _jar_session() -> aiohttp.ClientSession:
    # unsafe: keep cookies for an IP address host (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT)


async def _login(http: aiohttp.ClientSession, base: str, role: str, password: str | None = None):
    form = {"user": USERS[role], "password": password or PASSWORDS[role], "next": "/"}
    async with http.post(base + "/login", data=form, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def _status(http: aiohttp.ClientSession, url: str, **kw: Any) -> int:
    async with http.get(url, allow_redirects=False, **kw) as resp:
        await resp.read()
        return resp.status


@contextlib.asynccontextmanager
async def _viewers(
    http: aiohttp.ClientSession, relay: RunningRelay, *roles: str
) -> AsyncIterator[list[WhepViewer]]:
    """One viewer per role (its token), each with its control channel up; closed after."""
    viewers = [WhepViewer(relay.whep(), decode_code=False, token=TOKENS[r]) for r in roles]
    try:
        for v in viewers:
            await v.connect(http, channel=True)
            await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
        yield viewers
    finally:
        for v in viewers:
            await v.close(http)


@pytest.fixture
async def sim() -> Any:
    camera = SimulatedCamera(SimulatorOptions(control_port=0, stream_port=0, fps=10))
    await camera.start()
    yield camera
    await camera.stop()


def _cfg(sim: SimulatedCamera, **auth: Any) -> RelayConfig:
    return RelayConfig(
        host="127.0.0.1",
        port=0,
        cameras=(camera_at(sim.stream_url, sim.control_url),),
        auth=auth_config(**auth),
    )


async def test_login_logout_and_a_copied_cookie_after_logout(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, _jar_session() as http:
        me = relay.base + "/api/me"
        assert await _status(http, me) == 401
        resp = await _login(http, relay.base, "operator")
        assert resp.status == 303 and resp.headers["Location"] == "/"
        cookie = resp.cookies["esp32_relay_login"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        async with http.get(me) as r:
            assert (await r.json())["name"] == USERS["operator"]
        stolen = {
            "esp32_relay_login": http.cookie_jar.filter_cookies(URL(relay.base))[
                "esp32_relay_login"
            ].value
        }
        async with http.post(relay.base + "/logout", allow_redirects=False) as r:
            assert r.status == 303
        assert await _status(http, me) == 401
        # The same cookie, copied before the logout, is refused too.
        async with aiohttp.ClientSession(timeout=TIMEOUT) as other:
            assert await _status(other, me, cookies=stolen) == 401
        entries = relay.app[ACCESS].audit.entries()
        assert [e["action"] for e in entries[:2]] == ["logout", "login"]


async def test_wrong_password_lockout_and_tampered_cookie(sim: SimulatedCamera) -> None:
    cfg = _cfg(sim)
    cfg = replace(cfg, limits=LimitsConfig(lockout_failures=3, lockout_seconds=60))
    async with running_relay(cfg) as relay, _jar_session() as http:
        for _ in range(3):
            resp = await _login(http, relay.base, "viewer", password="wrong")
            assert resp.status == 401
        # Locked out now, even with the right password; another user is not.
        resp = await _login(http, relay.base, "viewer")
        assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
        assert (await _login(http, relay.base, "admin")).status == 303
        failed = [e for e in relay.app[ACCESS].audit.entries() if e["action"] == "login_failed"]
        assert len(failed) == 3 and failed[0]["who"] == USERS["viewer"]
        # A cookie changed by one character is no login at all.
        value = http.cookie_jar.filter_cookies(URL(relay.base))["esp32_relay_login"].value
        tampered = value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]
        async with aiohttp.ClientSession(timeout=TIMEOUT) as other:
            assert (
                await _status(
                    other, relay.base + "/api/me", cookies={"esp32_relay_login": tampered}
                )
                == 401
            )


async def test_an_idle_login_expires(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim, login_idle=1.0)) as relay, _jar_session() as http:
        assert (await _login(http, relay.base, "viewer")).status == 303
        assert await _status(http, relay.base + "/api/me") == 200
        await asyncio.sleep(1.5)
        assert await _status(http, relay.base + "/api/me") == 401


async def test_a_cookie_login_cannot_be_used_from_another_origin(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, _jar_session() as http:
        await _login(http, relay.base, "operator")
        url = relay.base + "/api/cameras/default/control"
        body = '{"var": "quality", "val": 20}'
        async with http.post(url, data=body, headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
        async with http.post(url, data=body, headers={"Origin": relay.base}) as r:
            assert r.status == 200


async def test_tokens_in_the_header_and_in_the_query(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        token = TOKENS["viewer"]
        api = relay.base + "/api/cameras/default"
        assert await _status(http, api, headers={"Authorization": f"Bearer {token}"}) == 200
        assert (
            await _status(http, api, headers={"Authorization": "Bearer nope-nope-nope-nope"}) == 401
        )
        assert await _status(http, api, headers={"Authorization": f"Basic {token}"}) == 401
        page = relay.base + f"/kiosk?token={token}"
        async with http.get(page, headers={"Accept": "text/html"}) as r:
            assert r.status == 200
            html = await r.text()
        # The kiosk page carries its token to its WHEP requests.
        assert token in html
        # A page with a wrong token is a person's: sent to the login page.
        async with http.get(relay.base + "/kiosk?token=wrong", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/login?next=")
        # The JPEG routes take ?token= too (their clients are given a URL, no header); the
        # API does not.
        snap = relay.base + "/cameras/default/snapshot.jpg"
        async with http.get(snap + f"?token={token}") as r:
            assert r.status == 200 and r.content_type == "image/jpeg"
            assert (await r.read())[:2] == b"\xff\xd8"
        assert await _status(http, snap) == 401
        assert await _status(http, snap + "?token=wrong") == 401
        assert await _status(http, api + f"?token={token}") == 401


@pytest.mark.network
async def test_a_viewers_set_is_forbidden_and_an_operators_is_applied(sim: SimulatedCamera) -> None:
    async with (
        running_relay(_cfg(sim)) as relay,
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
        _viewers(http, relay, "viewer", "operator") as (viewer, operator),
    ):
        before = sim.status()["quality"]
        want = 30 if before != 30 else 25
        reply = await viewer.request({"op": "set", "var": "quality", "val": want})
        assert reply["ok"] is False and reply["error"] == "forbidden"
        reply = await viewer.request({"op": "processors", "action": "add", "name": "grayscale"})
        assert reply["error"] == "forbidden"
        got = await viewer.request({"op": "get"})  # reading is a viewer's right
        assert got["ok"] is True
        assert sim.status()["quality"] == before
        reply = await operator.request({"op": "set", "var": "quality", "val": want})
        assert reply["ok"] is True and sim.status()["quality"] == want
        audit = relay.app[ACCESS].audit.entries()
        assert audit[0]["action"] == "control" and audit[0]["who"] == "operator-token"
        assert audit[0]["detail"] == {"var": "quality", "val": want}


async def _session_ids(http: aiohttp.ClientSession, relay: RunningRelay) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {TOKENS['admin']}"}
    async with http.get(relay.base + "/api/sessions", headers=headers) as r:
        assert r.status == 200
        return list((await r.json())["sessions"])


@pytest.mark.network
async def test_sessions_are_listed_and_only_owner_or_admin_ends_one(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        mine = WhepViewer(relay.whep(), token=TOKENS["viewer"])
        other = WhepViewer(relay.whep(), token=TOKENS["operator"])
        try:
            for v in (mine, other):
                await v.connect(http, channel=True)
                await v.wait_frames(5, timeout=15)
            sessions = await _session_ids(http, relay)
            assert {s["identity"] for s in sessions} == {"viewer-token", "operator-token"}
            s = next(s for s in sessions if s["identity"] == "viewer-token")
            assert s["role"] == "viewer" and s["camera"] == "default" and s["remote"]
            assert s["bytes_sent"] > 0 and time.time() - 60 < s["since"] <= time.time()
            await asyncio.sleep(1.2)  # receiver reports carry the round trip
            s = next(s for s in await _session_ids(http, relay) if s["identity"] == "viewer-token")
            assert s["bitrate"] and s["bitrate"] > 10_000
            # Someone else's session: refused to the operator, even knowing its URL.
            headers = {"Authorization": f"Bearer {TOKENS['operator']}"}
            assert mine.location
            async with http.delete(mine.location, headers=headers) as r:
                assert r.status == 403
            async with http.delete(mine.location, headers=mine.headers()) as r:
                assert r.status == 200
            # An admin ends the operator's; the viewer hears why before its connection closes.
            sid = next(
                s["id"]
                for s in await _session_ids(http, relay)
                if s["identity"] == "operator-token"
            )
            admin = {"Authorization": f"Bearer {TOKENS['admin']}"}
            async with http.delete(relay.base + f"/api/sessions/{sid}", headers=admin) as r:
                assert r.status == 200
            ended = await other.wait_message(lambda m: m.get("kind") == "session_ended", timeout=5)
            assert ended["op"] == "event" and ended["reason"]
            assert await _session_ids(http, relay) == []
            actions = [e["action"] for e in relay.app[ACCESS].audit.entries()]
            assert actions[:2] == ["session_ended", "session_ended"]
        finally:
            for v in (mine, other):
                await v.close(http)


@pytest.mark.network
async def test_logging_out_ends_that_logins_webrtc_sessions(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, _jar_session() as http:
        await _login(http, relay.base, "viewer")
        v = WhepViewer(relay.whep())
        # The viewer's WHEP request with the login cookie, as the page's fetch sends it.
        try:
            await v.connect(http, channel=True)
            await v.wait_frames(3, timeout=15)
            assert relay.peers.count() == 1
            async with http.post(relay.base + "/logout", allow_redirects=False) as r:
                assert r.status == 303
            await v.wait_message(lambda m: m.get("kind") == "session_ended", timeout=5)
            assert relay.peers.count() == 0
        finally:
            await v.close()


@pytest.mark.network
async def test_a_token_removed_on_reload_ends_its_sessions(sim: SimulatedCamera) -> None:
    cfg = _cfg(sim)
    async with (
        running_relay(cfg) as relay,
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
        _viewers(http, relay, "viewer", "admin") as (kiosk, _admin),
    ):
        auth = cfg.auth
        kept = tuple(t for t in auth.tokens if t.token != TOKENS["viewer"])
        ended = await relay.app[ACCESS].reload(replace(auth, tokens=kept))
        assert ended == 1
        await kiosk.wait_message(lambda m: m.get("kind") == "session_ended", timeout=5)
        assert [s.owner["identity"] for s in relay.peers.sessions.values()] == ["admin-token"]
        api = relay.base + "/api/cameras/default"
        assert await _status(http, api, headers=kiosk.headers()) == 401


async def test_a_login_flood_gets_429_with_retry_after(sim: SimulatedCamera) -> None:
    cfg = replace(_cfg(sim), limits=LimitsConfig(login_burst=5, login_rate=0.5))
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        statuses = []
        for i in range(12):
            resp = await _login(http, relay.base, "viewer", password=f"guess-{i}")
            statuses.append(resp.status)
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        assert int(resp.headers["Retry-After"]) >= 1
        # Everyone else is still served.
        headers = {"Authorization": f"Bearer {TOKENS['viewer']}"}
        assert await _status(http, relay.base + "/api/cameras", headers=headers) == 200


async def test_a_whep_flood_gets_429(sim: SimulatedCamera) -> None:
    cfg = replace(_cfg(sim), limits=LimitsConfig(whep_burst=3, whep_rate=0.1))
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        headers = {"Authorization": f"Bearer {TOKENS['viewer']}", "Content-Type": "application/sdp"}
        statuses = []
        for _ in range(6):
            async with http.post(relay.whep(), data="v=0\r\n", headers=headers) as r:
                statuses.append(r.status)
                retry = r.headers.get("Retry-After")
        assert statuses[:3] == [400] * 3 and statuses[3:] == [429] * 3 and retry


@pytest.mark.network
async def test_a_data_channel_flood_is_answered_then_closed(sim: SimulatedCamera) -> None:
    cfg = replace(
        _cfg(sim), limits=LimitsConfig(channel_burst=20, channel_rate=5.0, channel_refusals=30)
    )
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        flood = WhepViewer(relay.whep(), decode_code=False, token=TOKENS["operator"])
        calm = WhepViewer(relay.whep(), token=TOKENS["viewer"])
        try:
            for v in (flood, calm):
                await v.connect(http, channel=True)
                await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
            for _ in range(200):
                flood.send({"op": "get"})
            busy = await flood.wait_message(lambda m: m.get("error") == "busy", timeout=10)
            assert "slow down" in busy["message"] and busy["id"] is not None
            deadline = time.monotonic() + 10
            while flood.channel and flood.channel.readyState == "open":
                assert time.monotonic() < deadline, "the flooding channel was never closed"
                await asyncio.sleep(0.1)
            # The viewer that behaves keeps its video and its channel.
            await calm.wait_frames(5, timeout=10)
            assert (await calm.request({"op": "get"}))["ok"] is True
        finally:
            for v in (flood, calm):
                await v.close(http)


@pytest.mark.network
async def test_past_the_cap_of_peers_still_negotiating_whep_answers_503(
    sim: SimulatedCamera,
) -> None:
    cfg = replace(_cfg(sim), limits=LimitsConfig(max_negotiating=2))
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        headers = {"Authorization": f"Bearer {TOKENS['viewer']}", "Content-Type": "application/sdp"}
        pcs = []
        statuses = []
        try:
            for _ in range(3):
                # Offers whose answers are never applied: these peers never connect.
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                pcs.append(pc)
                pc.addTransceiver("video", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                async with http.post(
                    relay.whep(), data=pc.localDescription.sdp, headers=headers
                ) as r:
                    statuses.append(r.status)
                    body = await r.json() if r.status != 201 else None
            assert statuses == [201, 201, 503]
            assert body is not None and "still connecting" in body["message"]
            # A viewer that connects frees its place: the next one is answered.
            await relay.peers.close(next(iter(relay.peers.sessions)))
            v = WhepViewer(relay.whep(), token=TOKENS["viewer"])
            await v.connect(http)
            await v.wait_frames(3, timeout=15)
            await v.close(http)
        finally:
            for pc in pcs:
                await pc.close()


async def test_a_reload_cannot_switch_access_control_off(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        with pytest.raises(ValueError, match="switch access control off"):
            await relay.app[ACCESS].reload(AuthConfig())
        # Removing the last credential would have opened the relay to anyone, as an admin.
        assert await _status(http, relay.base + "/api/audit") == 401


async def test_a_login_form_from_another_site_is_refused(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, _jar_session() as http:
        form = {"user": USERS["viewer"], "password": PASSWORDS["viewer"]}
        headers = {"Origin": "http://evil.example"}
        async with http.post(
            relay.base + "/login", data=form, headers=headers, allow_redirects=False
        ) as r:
            assert r.status == 403 and "esp32_relay_login" not in r.cookies
        # A ?next= with a line break cannot break the answer's Location header.
        async with http.post(
            relay.base + "/login?next=/x%0d%0aSet-Cookie:%20a=b",
            data=form,
            allow_redirects=False,
        ) as r:
            assert r.status == 303 and r.headers["Location"] == "/"


async def test_board_addresses_are_for_admins_only(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        url = relay.base + "/api/cameras/default"
        for role, shown in (("viewer", False), ("operator", False), ("admin", True)):
            async with http.get(url, headers={"Authorization": f"Bearer {TOKENS[role]}"}) as r:
                info = await r.json()
            assert ("stream_url" in info) is shown, role
            assert ("url" in (info["control"] or {})) is shown, role


@pytest.mark.network
async def test_a_second_control_channel_is_closed(sim: SimulatedCamera) -> None:
    async with running_relay(_cfg(sim)) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        v = WhepViewer(relay.whep(), decode_code=False, token=TOKENS["viewer"])
        try:
            await v.connect(http, channel=True)
            await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
            extra = v.pc.createDataChannel("control")  # a second one, once the first is up
            deadline = time.monotonic() + 10
            while extra.readyState != "closed" and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert extra.readyState == "closed"
            assert v.channel is not None and v.channel.readyState == "open"
            assert (await v.request({"op": "get"}))["ok"] is True
        finally:
            await v.close(http)


@pytest.mark.network
async def test_one_identity_cannot_hold_more_than_its_sessions(sim: SimulatedCamera) -> None:
    cfg = replace(_cfg(sim), limits=LimitsConfig(sessions_per_identity=2))
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        viewers = [
            WhepViewer(relay.whep(), decode_code=False, token=TOKENS["viewer"]) for _ in range(2)
        ]
        try:
            for v in viewers:
                await v.connect(http)
            third = WhepViewer(relay.whep(), decode_code=False, token=TOKENS["viewer"])
            with pytest.raises(RuntimeError, match="WHEP answered 429"):
                await third.connect(http)
            await third.close()
            # Another identity is not held back by it.
            other = WhepViewer(relay.whep(), decode_code=False, token=TOKENS["operator"])
            await other.connect(http)
            viewers.append(other)
        finally:
            for v in viewers:
                await v.close(http)
