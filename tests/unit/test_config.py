"""Configuration: TOML, flags and environment, in that order of precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay.argv import config_from_argv
from relay.config import ConfigError, RelayConfig, from_mapping, load_toml
from relay.processing.service import CameraProcessing
from tests.unit.processing.stages import USER


def test_defaults_run_the_embedded_simulator_on_all_interfaces() -> None:
    cfg = config_from_argv([], env={})
    assert cfg.host == "0.0.0.0" and cfg.port == 8080
    assert cfg.default_camera == "default"
    assert cfg.cameras[0].simulate and cfg.cameras[0].stream.url is None
    assert cfg.ice.servers == ()  # never a public STUN server unless configured


def test_only_an_explicit_setting_starts_the_simulator(tmp_path: Path) -> None:
    f = tmp_path / "relay.toml"
    f.write_text('[[cameras]]\nname = "garage"\n')  # url forgotten
    with pytest.raises(ConfigError, match=r"camera garage: no url; set url = .*simulate = true"):
        load_toml(f)
    f.write_text('[[cameras]]\nname = "garage"\nsimulate = true\n')
    cam = load_toml(f).cameras[0]
    assert cam.simulate and cam.stream.url is None
    f.write_text('[[cameras]]\nname = "g"\nsimulate = true\nurl = "http://10.0.0.5:81/stream"\n')
    with pytest.raises(ConfigError, match="exclude each other"):
        load_toml(f)
    # A camera on the command line replaces the default simulated one.
    cfg = config_from_argv(["--camera", "http://10.0.0.5:81/stream"], env={})
    assert not cfg.cameras[0].simulate


def test_control_url_defaults_to_the_stream_host_on_port_80() -> None:
    cfg = config_from_argv(["--camera", "http://192.168.1.40:81/stream"], env={})
    assert cfg.cameras[0].resolved_control_url() == "http://192.168.1.40"
    cfg = config_from_argv(
        ["--camera", "http://cam:81/stream", "--control", "http://cam:8000/"], env={}
    )
    assert cfg.cameras[0].resolved_control_url() == "http://cam:8000"


def test_toml_then_flags_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "relay.toml"
    f.write_text(
        'port = 9000\nhost = "127.0.0.1"\n'
        '[[cameras]]\nname = "garage"\nurl = "http://10.0.0.5:81/stream"\n'
        "[cameras.encoder]\nbitrate = 800000\n"
        '[[cameras]]\nname = "porch"\nurl = "http://10.0.0.6:81/stream"\n'
        '[ice]\naddresses = ["192.168.1.0/24"]\n'
    )
    cfg = load_toml(f)
    assert [c.name for c in cfg.cameras] == ["garage", "porch"]
    assert cfg.cameras[0].encoder.bitrate == 800_000
    assert cfg.ice.addresses == ("192.168.1.0/24",)
    cfg = config_from_argv(["--config", str(f), "--port", "9100"], env={})
    assert cfg.port == 9100 and cfg.host == "127.0.0.1"
    cfg = config_from_argv(
        ["--config", str(f), "--port", "9100"],
        env={"ESP32_RELAY_PORT": "9200", "ESP32_RELAY_CAMERA": "http://10.0.0.9:81/stream"},
    )
    assert cfg.port == 9200
    assert cfg.cameras[0].stream.url == "http://10.0.0.9:81/stream"
    assert cfg.cameras[1].stream.url == "http://10.0.0.6:81/stream"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"port": "8080"}, "port must be int"),
        ({"port": 70000}, "out of range"),
        ({"colour": 1}, "unknown setting 'colour'"),
        ({"cameras": []}, "non-empty list"),
        ({"cameras": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"cameras": [{"name": "bad name!"}]}, "camera name"),
        ({"cameras": [{"url": "rtsp://x/stream"}]}, "http:// URL"),
        ({"cameras": [{"simulate": True, "encoder": {"bitrate": 10}}]}, "bitrate"),
        ({"cameras": [{"stall_timeout": "3"}]}, "stall_timeout must be float"),
        ({"log_level": "LOUD"}, "log level"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping(raw)


def test_unreadable_or_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_toml(bad)


def test_float_settings_take_integers() -> None:
    cfg = from_mapping({"cameras": [{"simulate": True, "stall_timeout": 5}]})
    assert cfg.cameras[0].stream.stall_timeout == 5
    assert isinstance(RelayConfig().cameras[0].stream.stall_timeout, float)


# ---- processor chains in the file


def test_processors_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(
        f"""
[[cameras]]
name = "garage"
simulate = true

[[cameras.processors]]
name = "rotate"
params = {{ angle = 90 }}

[[cameras.processors]]
name = "motion"
enabled = false
[cameras.processors.params]
min_area = 0.01

[[cameras.processors]]
name = "{USER}:AddOne"
id = "plus"
"""
    )
    cfg = load_toml(path)
    procs = cfg.cameras[0].processors
    assert procs is not None
    assert [p.name for p in procs] == ["rotate", "motion", f"{USER}:AddOne"]
    assert procs[0].params == {"angle": 90} and procs[1].enabled is False
    proc = CameraProcessing("garage", procs)
    assert [s["id"] for s in proc.describe()] == ["rotate", "motion", "plus"]
    # A class the config named may be added again over the network; others may not.
    assert f"{USER}:AddOne" in proc.allowed and "os:system" not in proc.allowed


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('name = "sharpen"', "unknown processor"),
        ('name = "rotate"\nparams = { angle = 45 }', "one of"),
        ('name = "rotate"\ncolour = 1', "unknown setting"),
        ("params = {}", "needs name"),
        ('name = "rotate"\nenabled = "yes"', "must be bool"),
        ('name = "no_such_module_here:X"', "cannot import"),
    ],
)
def test_bad_processor_config_is_refused_at_startup(
    tmp_path: Path, body: str, fragment: str
) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(f"[[cameras]]\nname = 'c'\nsimulate = true\n[[cameras.processors]]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_toml(path)
    assert fragment in str(info.value)


def test_duplicate_ids_in_config_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(
        "[[cameras]]\nname='c'\nsimulate=true\n[[cameras.processors]]\nname='text'\nid='a'\n"
        "[[cameras.processors]]\nname='rotate'\nid='a'\n"
    )
    with pytest.raises(ConfigError, match="already in the chain"):
        load_toml(path)
