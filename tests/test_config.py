"""Configuration: the file, the environment, and plain errors for bad settings."""
from __future__ import annotations

import pytest

from grader.config import DEMO_SECRET, ConfigError, load_config


def test_defaults_use_the_demo_secret_and_say_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.secret == DEMO_SECRET and config.demo_secret
    assert config.isolation is None


def test_file_then_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.txt").write_text("file-secret\n")
    (tmp_path / "grader.toml").write_text(
        '[grader]\nsecret_file = "secret.txt"\nisolation = "rlimits"\nworkers = 3\n'
        '[limits]\ncase_seconds = 2.5\n[written]\n"2b-proof" = 8\n[gradescope]\nhidden_visibility = "hidden"\n')
    config = load_config(env={})
    assert (config.secret, config.secret_source) == ("file-secret", "config secret_file")
    assert config.isolation == "rlimits" and config.workers == 3
    assert config.limits.case_seconds == 2.5 and config.hidden_visibility == "hidden"
    assert {w.id: w.points for w in config.load_assignment().written}["2b-proof"] == 8
    assert load_config(env={"GRADER_SECRET": "env-secret"}).secret == "env-secret"


@pytest.mark.parametrize("text, words", [
    ("[grader]\nisolation = \"docker\"\n", "isolation"),
    ("[limits]\ncase_secs = 1\n", "unknown settings"),
    ("[limits]\ncase_seconds = \"fast\"\n", "bad value"),
    ("[grader]\nworkers = 0\n", "at least 1"),
    ("[grader\n", "not valid TOML"),
    ("[grader]\nsecret_file = \"missing.txt\"\n", "cannot be read"),
    ("[gradescope]\nhidden_visibility = \"sometimes\"\n", "visibility"),
])
def test_bad_settings_are_named(tmp_path, text, words):
    path = tmp_path / "grader.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_config(path, env={})


def test_unknown_written_part_and_assignment(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('[written]\n"9z-essay" = 3\n')
    with pytest.raises(ConfigError, match="unknown parts"):
        load_config(path, env={}).load_assignment()
    path.write_text('[grader]\nassignment = "assignments.nope"\n')
    with pytest.raises(ConfigError, match="cannot be imported"):
        load_config(path, env={}).load_assignment()


def test_a_session_with_a_bad_assignment_leaves_no_worker_running(tmp_path):
    """Workers start before the assignment is loaded (their warm-up overlaps it): when it cannot be
    loaded, the error is the configuration's and every worker that was started is stopped."""
    from dataclasses import replace

    from grader.session import Session

    started = []
    original = Session._new_worker

    def spy(self, slot):
        started.append(original(self, slot))
        return started[-1]

    config = replace(load_config(env={}), assignment="assignments.nonexistent", workers=2)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Session, "_new_worker", spy)
        with pytest.raises(ConfigError, match="cannot be imported"):
            Session(config, workers=2)
    assert len(started) == 2 and not any(w.alive for w in started)
