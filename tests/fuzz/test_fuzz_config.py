"""Configuration files, fuzzed: a file is either used or refused with a ConfigError that
names the setting; never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.config import ConfigError, from_mapping, load_toml
from tests.fuzz.budget import FUZZ

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(["http://10.0.0.5:81/stream", "rtsp://x", "eth0", "0.0.0.0/0", ""]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=15,
)
camera_keys = st.sampled_from(
    [
        "name",
        "url",
        "simulate",
        "control_url",
        "max_frame_size",
        "stall_timeout",
        "encoder",
        "control",
        "processors",
        "frame_code",
        "backoff_min",
    ]
)
cameras = st.dictionaries(camera_keys, values, max_size=6)
top_keys = st.sampled_from(["host", "port", "log_level", "max_viewers", "zero_playout_delay"])
mappings = st.fixed_dictionaries(
    {},
    optional={
        "cameras": st.lists(cameras, max_size=3) | values,
        "ice": st.dictionaries(st.sampled_from(["servers", "addresses", "x"]), values) | values,
        "simulator": st.dictionaries(st.text(max_size=10), values, max_size=3) | values,
    },
).flatmap(lambda base: st.dictionaries(top_keys, values, max_size=3).map(lambda t: {**t, **base}))


@FUZZ
@given(mappings)
def test_any_mapping_is_used_or_refused_with_a_config_error(raw: dict) -> None:
    try:
        from_mapping(raw)
    except ConfigError as exc:
        assert str(exc)


@FUZZ
@given(st.text(max_size=400))
def test_any_file_is_used_or_refused_with_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "relay.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_toml(path)
    except ConfigError as exc:
        assert str(exc)
