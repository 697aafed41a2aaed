from relay.access.logins import TOUCH_EVERY, EndedLogins, Login


def test_a_login_round_trips_through_its_cookie() -> None:
    login = Login.new("alice", "user:alice:abc", 1000.0)
    assert Login.from_cookie(login.to_cookie()) == login


def test_idle_and_absolute_lifetimes() -> None:
    login = Login("alice", "k", "id", issued=0.0, seen=0.0)
    assert login.expired(100.0, idle=3600, lifetime=86400) is None
    assert "idle" in (login.expired(3601.0, idle=3600, lifetime=86400) or "")
    touched = Login("alice", "k", "id", issued=0.0, seen=86000.0)
    assert touched.expired(86000.0, idle=3600, lifetime=86400) is None
    assert "lifetime" in (touched.expired(86401.0, idle=3600, lifetime=86400) or "")
    future = Login("alice", "k", "id", issued=0.0, seen=1000.0 + 2 * TOUCH_EVERY)
    assert "future" in (future.expired(1000.0, idle=3600, lifetime=86400) or "")


def test_unreadable_cookies_are_no_login() -> None:
    for data in (
        None,
        "x",
        {},
        {"user": "a"},
        {"user": "a", "key": "k", "id": "i", "issued": "x", "seen": 1},
    ):
        assert Login.from_cookie(data) is None


def test_ended_logins_are_remembered_until_they_would_expire() -> None:
    ended = EndedLogins(max_entries=3)
    ended.end("a", until=10.0, now=0.0)
    ended.end("b", until=100.0, now=0.0)
    ended.end("c", until=100.0, now=0.0)
    ended.end("d", until=100.0, now=50.0)  # full: "a" has expired and goes
    assert not ended.ended("a") and all(ended.ended(x) for x in "bcd")
