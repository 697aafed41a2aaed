from relay.access.audit import AuditLog


def test_newest_first_and_bounded() -> None:
    log = AuditLog(max_entries=3)
    for i in range(5):
        log.record("control", "alice", "10.0.0.2", "garage", var="quality", val=i, action="x")
    entries = log.entries()
    assert len(entries) == 3 and [e["detail"]["val"] for e in entries] == [4, 3, 2]
    assert entries[0]["who"] == "alice" and entries[0]["remote"] == "10.0.0.2"
    assert entries[0]["camera"] == "garage" and entries[0]["detail"]["action"] == "x"
    assert len(log.entries(1)) == 1


def test_a_name_cannot_forge_a_log_line(caplog) -> None:
    log = AuditLog()
    with caplog.at_level("INFO", logger="relay.audit"):
        log.record("login_failed", "x\nINFO relay.audit: login by admin", "10.0.0.9")
    assert "\n" not in caplog.records[0].getMessage()
