from relay.access.ratelimit import Lockout, RateLimiter


def test_a_burst_is_allowed_then_the_rate() -> None:
    rl = RateLimiter(burst=3, rate=1.0)
    assert [rl.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.take("a", 0.0)
    assert 0.99 < wait <= 1.0  # one token a second
    assert rl.take("a", 1.0) == 0.0  # refilled
    assert rl.take("b", 0.0) == 0.0  # addresses are apart
    assert rl.refused == 1


def test_the_table_is_bounded() -> None:
    rl = RateLimiter(burst=1, rate=0.001, max_keys=100)
    for i in range(1000):
        rl.take(f"10.0.{i // 256}.{i % 256}", 0.0)
    assert len(rl._buckets) == 100


def test_lockout_after_repeated_failures_and_its_end() -> None:
    lock = Lockout(failures=3, seconds=60)
    for _ in range(2):
        lock.failed("u@a", 0.0)
    assert lock.locked_for("u@a", 0.0) == 0.0
    lock.failed("u@a", 1.0)
    assert lock.locked_for("u@a", 1.0) == 60.0
    assert lock.locked_for("u@b", 1.0) == 0.0  # another address is not locked out
    assert lock.locked_for("u@a", 61.5) == 0.0
    lock.failed("u@a", 62.0)  # a fresh count after the lock-out
    assert lock.locked_for("u@a", 62.0) == 0.0
    lock.succeeded("u@a")
    assert lock.locked_for("u@a", 62.0) == 0.0
