"""Bad configuration: each kind gives one clear message naming the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lamworks import ConfigError, Runtime, load_config


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[1] / "examples" / "lamworks.toml")
    assert {"frontdesk", "clinician", "patient", "teacher", "student", "admin"} <= set(
        config.users
    )
    for name, user in config.users.items():
        assert user.role == name  # each demo user has the matching role
    assert config.users["patient"].links["patient"].startswith("Patient/")
    assert config.users["student"].links["student"]


BAD_CONFIGS = [
    # (what is wrong, the file's text, the key path the message must name)
    ("TOML syntax", "[institution\nname = 'x'", "line 1"),
    ("unknown key", "[institution]\nname = 'x'\nnmae = 'y'", "institution.nmae"),
    ("wrong type", "[institution]\nname = 'x'\n[roles.a]\nrate_limit_per_minute = 'lots'",
     "roles.a.rate_limit_per_minute"),
    ("bad scope", "[institution]\nname = 'x'\n[roles.a]\nscopes = ['user/Patient.rx']",
     "roles.a.scopes[0]"),
    ("unknown role", "[institution]\nname = 'x'\n[roles.a]\n[users.u]\nrole = 'b'",
     "users.u.role"),
    ("missing key", "[roles.a]\nscopes = []", "institution"),
    ("bad time zone", "[institution]\nname = 'x'\ntimezone = 'Mars/Olympus'",
     "institution.timezone"),
    ("secret in file", "[institution]\nname = 'x'\n[plugins.llm]\napi_key = 'sk-123'",
     "plugins.llm.api_key"),
]


@pytest.mark.parametrize(("kind", "text", "key"), BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_bad_config_names_file_and_key(tmp_path: Path, kind: str, text: str, key: str) -> None:
    path = tmp_path / "lamworks.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Runtime.from_config(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert "Traceback" not in message
    assert "sk-123" not in message  # a secret is never echoed back


def test_invalid_plugin_settings_stop_the_runtime_naming_the_key(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path]
) -> None:
    install_plugins(sample="lamworks_sample")
    path = write_config(extra="[plugins.sample]\nmax_note_length = 'long'\n")
    with pytest.raises(ConfigError, match=r"plugins\.sample\.max_note_length"):
        Runtime.from_config(path)


def test_environment_overrides_the_file(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config()
    assert load_config(path).data_dir == tmp_path / "data"
    monkeypatch.setenv("LAMWORKS_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LAMWORKS_KNOWLEDGE__CHROMA_URL", "http://127.0.0.1:9")
    config = load_config(path)
    assert config.data_dir == tmp_path / "elsewhere"
    assert config.knowledge.chroma_url == "http://127.0.0.1:9"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_masked_config_hides_secret_values(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lamworks.toml"
    path.write_text("[institution]\nname = 'x'\n", encoding="utf-8")
    monkeypatch.setenv("LAMWORKS_PLUGINS__LLM__API_KEY", "sk-secret")
    shown = load_config(path).masked()
    assert shown["plugins"]["llm"]["api_key"] == "********"
    assert "sk-secret" not in repr(shown)
