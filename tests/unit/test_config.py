"""Configuration: the file, ``ESP32_RELAY_*`` variables and flags, in that order of
precedence; every refusal names the key, the value and what is allowed."""

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
    with pytest.raises(ConfigError, match=r"cameras\[0\]: no url; set url = .*simulate = true"):
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


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
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
    env = {
        "ESP32_RELAY_PORT": "9200",
        "ESP32_RELAY_CAMERAS__1__ENCODER__BITRATE": "600000",
        "ESP32_RELAY_CAMERAS__1__URL": "http://10.0.0.7:81/stream",
        "ESP32_RELAY_ICE__ADDRESSES": '["10.0.0.0/8", "eth0"]',
    }
    cfg = config_from_argv(["--config", str(f)], env=env)
    assert cfg.port == 9200 and cfg.host == "127.0.0.1"  # the variable over the file
    assert cfg.cameras[1].encoder.bitrate == 600_000  # a nested key, the file's others kept
    assert cfg.cameras[1].stream.url == "http://10.0.0.7:81/stream"
    assert cfg.cameras[1].name == "porch" and cfg.cameras[0].encoder.bitrate == 800_000
    assert cfg.ice.addresses == ("10.0.0.0/8", "eth0")
    # A flag over the variable.
    cfg = config_from_argv(["--config", str(f), "--port", "9100"], env=env)
    assert cfg.port == 9100
    cfg = config_from_argv(
        ["--config", str(f), "--camera", "http://10.0.0.8:81/stream"],
        env={"ESP32_RELAY_CAMERA": "http://10.0.0.9:81/stream"},
    )
    assert cfg.cameras[0].stream.url == "http://10.0.0.8:81/stream"
    assert cfg.cameras[1].stream.url == "http://10.0.0.6:81/stream"
    # The file named by the environment.
    cfg = config_from_argv([], env={"ESP32_RELAY_CONFIG": str(f)})
    assert cfg.port == 9000


def test_the_environment_alone_configures_cameras() -> None:
    env = {
        "ESP32_RELAY_CAMERAS__0__NAME": "garage",
        "ESP32_RELAY_CAMERAS__0__URL": "http://10.0.0.5:81/stream",
        "ESP32_RELAY_CAMERAS__1__NAME": "demo",
        "ESP32_RELAY_CAMERAS__1__SIMULATE": "true",
        "ESP32_RELAY_CAMERAS__1__LAYERS__LOW": "false",
        "ESP32_RELAY_LOG_FORMAT": "json",
        "ESP32_RELAY_NETNS": "1",  # not a setting: ignored, said so in the log
    }
    cfg = config_from_argv([], env=env)
    assert [(c.name, c.simulate) for c in cfg.cameras] == [("garage", False), ("demo", True)]
    assert cfg.cameras[1].layers.low is False and cfg.log_format == "json"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ESP32_RELAY_PORT": "many"}, "port: must be a whole number, got 'many'"),
        ({"ESP32_RELAY_CAMERAS__2__URL": "http://x/"}, "CAMERAS__2__URL: cameras has 1 entries"),
        ({"ESP32_RELAY_ICE__ADDRESSES": "[1,"}, "ESP32_RELAY_ICE__ADDRESSES: not a TOML list"),
        ({"ESP32_RELAY_CAMERAS__0__COLOUR": "red"}, r"cameras\[0\]\.colour: unknown setting"),
        ({"ESP32_RELAY_PORT": "1", "ESP32_RELAY_PORT__X": "1"}, "PORT__X: port is not a table"),
    ],
)
def test_bad_variables_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_argv([], env=env)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"port": "eighty"}, "^port: must be a whole number, got 'eighty'$"),
        ({"port": 70000}, "^port: must be <= 65535, got 70000$"),
        ({"port": 1.5}, "^port: must be a whole number, got 1.5$"),
        ({"colour": 1}, r"^colour: unknown setting \(allowed: auth, cameras, host, "),
        ({"cameras": []}, "^cameras: must list at least 1$"),
        ({"cameras": "garage"}, "^cameras: must be a list, got 'garage'$"),
        ({"cameras": [{"name": "a", "simulate": True}] * 2}, "'a' is used twice"),
        (
            {"cameras": [{"name": "bad name!"}]},
            r"^cameras\[0\]\.name: use letters.*got 'bad name!'",
        ),
        ({"cameras": [{"url": "rtsp://x/stream"}]}, r"^cameras\[0\]\.url: must be an http:// URL"),
        (
            {"cameras": [{"simulate": True}, {"simulate": True, "encoder": {"bitrate": 10}}]},
            r"^cameras\[1\]\.encoder\.bitrate: must be >= 100000, got 10$",
        ),
        (
            {"cameras": [{"simulate": True, "encoder": {"bitrate": 1, "cpu_used": 99}}]},
            r"^2 problems:\n  cameras\[0\]\.encoder\.bitrate: .*\n"
            r"  cameras\[0\].encoder.cpu_used: must be <= 16, got 99$",
        ),
        (
            {"cameras": [{"simulate": True, "stall_timeout": "soon"}]},
            "stall_timeout: must be a number",
        ),
        (
            {"cameras": [{"simulate": True, "stall_timeout": 0}]},
            "stall_timeout: must be > 0, got 0",
        ),
        (
            {"cameras": [{"simulate": True, "stall_timeout": float("nan")}]},
            "must be a finite number",
        ),
        (
            {"cameras": [{"simulate": True, "encoder": "fast"}]},
            r"encoder: must be a table, got 'fast'",
        ),
        (
            {"cameras": [{"simulate": True, "simulate_": 1}]},
            r"simulate_: unknown setting \(allowed: .*control_url",
        ),
        ({"cameras": [{"simulate": True, "stream": {}}]}, "unknown setting 'stream'"),
        ({"cameras": [{"simulate": 3}]}, r"simulate: must be true or false, got 3"),
        ({"log_level": "LOUD"}, "log_level: must be one of DEBUG, INFO"),
        ({"log_format": "xml"}, "log_format: must be 'text' or 'json', got 'xml'"),
        ({"max_viewers": 0}, "max_viewers: must be >= 1, got 0"),
        ({"limits": {"whep_rate": 0}}, r"limits\.whep_rate: must be > 0, got 0"),
        ({"simulator": {"quality": 2}}, r"simulator\.quality: must be >= 4, got 2"),
        (
            {"ice": {"servers": [{"urls": "stun:x", "pw": 1}]}},
            r"ice\.servers\[0\]\.pw: unknown setting \(allowed: credential, urls, username\)",
        ),
        ({"ice": {"servers": [{}]}}, r"ice\.servers\[0\]\.urls: is required"),
        (
            {"http": {"kiosk_frame_ancestors": ["a; b"]}},
            "kiosk_frame_ancestors: must be a list of CSP sources",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping(raw)


def test_a_file_names_itself_and_every_problem(tmp_path: Path) -> None:
    f = tmp_path / "relay.toml"
    f.write_text('port = 99999\n[[cameras]]\nname = "x"\nurl = "ftp://x"\ncolour = 1\n')
    with pytest.raises(ConfigError) as err:
        load_toml(f)
    assert str(err.value).startswith(f"{f}: 3 problems:")
    assert err.value.problems == [
        "port: must be <= 65535, got 99999",
        "cameras[0].url: must be an http:// URL with a host (the board's address), got 'ftp://x'",
        "cameras[0].colour: unknown setting (allowed: backoff_max, backoff_min, connect_timeout,"
        " control, control_url, encoder, frame_code, layers, max_frame_size, name, processors,"
        " read_timeout, simulate, stall_timeout, url)",
    ]


def test_the_example_file_loads_and_shows_every_section() -> None:
    example = Path(__file__).parents[2] / "deploy" / "relay.toml"
    cfg = load_toml(example)
    assert [c.name for c in cfg.cameras] == ["garage", "porch", "demo"]
    garage = cfg.cameras[0]
    assert garage.stream.url == "http://192.168.1.40:81/stream"
    assert garage.resolved_control_url() == "http://192.168.1.40"
    assert garage.processors is not None and [p.name for p in garage.processors] == [
        "timestamp",
        "motion",
    ]
    assert cfg.cameras[2].simulate and not cfg.auth.enabled
    # Every section of the configuration appears in the example.
    text = example.read_text()
    for section in (
        "[cameras.encoder]",
        "[cameras.layers]",
        "[cameras.control]",
        "[simulator]",
        "[ice]",
        "[auth]",
        "[limits]",
        "[tls]",
        "[http]",
        "[[cameras.processors]]",
    ):
        assert section in text, section


def test_unreadable_or_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_toml(bad)


def test_numbers_are_read_as_their_setting_needs() -> None:
    cfg = from_mapping({"cameras": [{"simulate": True, "stall_timeout": 5}], "port": "8081"})
    assert cfg.cameras[0].stream.stall_timeout == 5.0
    assert isinstance(cfg.cameras[0].stream.stall_timeout, float)
    assert cfg.port == 8081  # text that is a number, as environment variables are
    assert from_mapping({"log_level": "debug"}).log_level == "DEBUG"
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
        ("params = {}", "processors[0].name: is required"),
        ('name = "rotate"\nenabled = 3', "processors[0].enabled: must be true or false, got 3"),
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


def test_what_review_found_is_refused_or_applied_as_it_should() -> None:
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.url: has a port that is not a number"):
        from_mapping({"cameras": [{"url": "http://h:99999/stream"}]})
    with pytest.raises(ConfigError, match=r"cameras\[0\]: processors: cannot load"):
        from_mapping({"cameras": [{"simulate": True, "processors": [{"name": ":"}]}]})
    # A flag's or variable's control URL replaces the file's, whichever spelling each has.
    raw = {"cameras": [{"url": "http://b/stream", "control": {"url": "http://c1"}}]}
    from relay.settings.layers import Setting, apply, first_camera

    cfg = from_mapping(apply(raw, first_camera("control_url", "http://c2", "--control")))
    assert cfg.cameras[0].resolved_control_url() == "http://c2"
    raw = {"cameras": [{"url": "http://b/stream", "control_url": "http://c1"}]}
    cfg = from_mapping(apply(raw, [Setting(("cameras", 0, "control", "url"), "http://c3", "V")]))
    assert cfg.cameras[0].resolved_control_url() == "http://c3"


def test_variables_alone_change_the_built_in_camera() -> None:
    cfg = config_from_argv([], env={"ESP32_RELAY_CAMERAS__0__ENCODER__BITRATE": "800000"})
    assert cfg.cameras[0].simulate and cfg.cameras[0].encoder.bitrate == 800_000
    cfg = config_from_argv([], env={"ESP32_RELAY_CAMERAS__0__URL": "http://10.0.0.5:81/stream"})
    assert not cfg.cameras[0].simulate and cfg.cameras[0].name == "default"
    with pytest.raises(ConfigError, match="CAMERAS__²__URL: cameras is not a table"):
        config_from_argv([], env={"ESP32_RELAY_CAMERAS__²__URL": "http://x/"})  # no index
