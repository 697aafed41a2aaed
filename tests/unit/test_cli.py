"""The command line and the application factory read arguments alike."""

from __future__ import annotations

from relay.app import CONFIG, create_app
from relay.cli import main


def test_create_app_reads_arguments_like_the_command(monkeypatch) -> None:
    monkeypatch.delenv("ESP32_RELAY_PORT", raising=False)
    app = create_app(["--camera", "http://192.168.4.1:81/stream", "--port", "9000"])
    cfg = app[CONFIG]
    assert cfg.port == 9000 and cfg.cameras[0].stream.url == "http://192.168.4.1:81/stream"


def test_command_refuses_a_bad_configuration(capsys, tmp_path) -> None:
    assert main(["--camera", "ftp://nope"]) == 2
    assert "http:// URL" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "none.toml")]) == 2


def test_a_port_in_use_is_one_clear_line_and_nothing_is_started(capfd) -> None:
    import socket
    import threading

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    threads = threading.active_count()
    try:
        assert main(["--host", "127.0.0.1", "--port", str(port)]) == 1
    finally:
        taken.close()
    out, err = capfd.readouterr()
    assert err.strip() == f"esp32-relay: cannot listen on 127.0.0.1:{port}: the port is in use"
    assert "open http" not in out and "Traceback" not in err
    assert threading.active_count() == threads  # no camera, simulator or worker was started


def test_library_chatter_stays_out_of_the_relays_info_log() -> None:
    import logging

    from relay.cli import configure_logging

    saved = {n: logging.getLogger(n).level for n in ("aioice", "aiortc", "relay", "")}
    try:
        configure_logging("INFO")
        assert not logging.getLogger("aioice.ice").isEnabledFor(logging.INFO)
        assert not logging.getLogger("aiortc.rtcrtpsender").isEnabledFor(logging.INFO)
        assert logging.getLogger("aioice.ice").isEnabledFor(logging.WARNING)
        assert logging.getLogger("relay.cameras").isEnabledFor(logging.INFO)
        configure_logging("DEBUG")  # asked for: everything
        assert logging.getLogger("aioice.ice").isEnabledFor(logging.DEBUG)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
