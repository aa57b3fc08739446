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
    (tmp_path / "secret.txt").write_text("file-secret-3f9a27c1\n")
    (tmp_path / "grader.toml").write_text(
        '[grader]\nsecret_file = "secret.txt"\nisolation = "rlimits"\nworkers = 3\n'
        '[limits]\ncase_seconds = 2.5\n[written]\n"2b-proof" = 8\n[gradescope]\nhidden_visibility = "hidden"\n')
    config = load_config(env={})
    assert (config.secret, config.secret_source) == ("file-secret-3f9a27c1", "[grader] secret_file")
    assert config.isolation == "rlimits" and config.workers == 3
    assert config.limits.case_seconds == 2.5 and config.hidden_visibility == "hidden"
    assert {w.id: w.points for w in config.load_assignment().written}["2b-proof"] == 8
    assert load_config(env={"GRADER_SECRET": "env-secret-8c0d41e7"}).secret == "env-secret-8c0d41e7"


@pytest.mark.parametrize("text, words", [
    ("[grader]\nisolation = \"docker\"\n", "isolation"),
    ("[limits]\ncase_secs = 1\n", "unknown setting 'case_secs' in \\[limits\\] \\(did you mean 'case_seconds'"),
    ("[limits]\ncase_seconds = \"fast\"\n", "case_seconds must be a number"),
    ("[grader]\nworkers = 0\n", "workers must be from 1"),
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


# ------------------------------------------------------------------------------------------------
# The schema: every key declared once, typed, bounded, documented


@pytest.mark.parametrize("text, words", [
    ('[grader]\nisolaton = "bwrap"\n', r"unknown setting 'isolaton' in \[grader\] \(did you mean 'isolation'"),
    ("[limits]\ncase_seconds = -5\n", r"\[limits\] case_seconds must be from 0.01 to 3600, not -5"),
    ("[limits]\nmemory_mb = 1.9\n", r"\[limits\] memory_mb must be a whole number"),
    ("[limits]\nmemory_mb = true\n", r"\[limits\] memory_mb must be a number"),
    ('[written]\n"2b-proof" = "five"\n', r"\[written\] 2b-proof must be a number"),
    ('[written]\n"2b-proof" = -1\n', r"\[written\] 2b-proof must be from 0"),
    ("[grader]\nassignment = 3\n", r"\[grader\] assignment must be a string"),
    ("[grader]\nworkers = 2.5\n", r"\[grader\] workers must be a whole number"),
    ("[limit]\ncase_seconds = 1\n", r"unknown section \[limit\] \(did you mean 'limits'"),
    ("limits = 3\n", r"limits must be a section"),
])
def test_unknown_keys_and_bad_values_name_the_key(tmp_path, text, words):
    path = tmp_path / "grader.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_config(path, env={})


@pytest.mark.parametrize("text", [
    '[grader]\nisolaton = "bwrap"\n', "[limits]\ncase_seconds = -5\n", "[limits]\nmemory_mb = 1.9\n",
    '[written]\n"2b-proof" = "five"\n', "[grader\n", "[limits]\nnofile = 1e400\n"])
@pytest.mark.parametrize("command", [["config"], ["config", "--show"], ["grade", "submission.py"],
                                     ["batch", "folder", "--out", "out"], ["build-kit", "kit"]])
def test_the_command_line_exits_2_naming_the_key_never_a_traceback(tmp_path, capsys, text, command):
    from grader.cli import EXIT_USAGE, main

    path = tmp_path / "grader.toml"
    path.write_text(text)
    assert main([*command, "--config", str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "configuration error" in err and "Traceback" not in err


def test_config_checks_the_registry_too(tmp_path, capsys):
    from grader.cli import EXIT_USAGE, main

    path = tmp_path / "g.toml"
    path.write_text('[written]\n"9z-essay" = 3\n')
    assert main(["config", "--config", str(path)]) == EXIT_USAGE
    assert "unknown parts" in capsys.readouterr().err
    path.write_text('[written]\n"2b-proof" = 3\n')
    assert main(["config", "--config", str(path)]) == 0
    assert "configuration OK" in capsys.readouterr().out


@pytest.mark.parametrize("secret", ["abc", "0123456789abcde", "aaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababab"])
def test_a_guessable_secret_is_refused(tmp_path, secret):
    with pytest.raises(ConfigError, match="too easy to guess"):
        load_config(env={"GRADER_SECRET": secret})
    (tmp_path / "s").write_text(secret)
    with pytest.raises(ConfigError, match="too easy to guess"):
        load_config(env={"GRADER_SECRET_FILE": str(tmp_path / "s")})
    (tmp_path / "g.toml").write_text(f'[grader]\nsecret = "{secret}"\n')
    with pytest.raises(ConfigError, match="too easy to guess"):
        load_config(tmp_path / "g.toml", env={})


def test_the_demo_secret_is_still_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config(env={}).demo_secret
    assert load_config(env={"GRADER_SECRET": "a-real-secret-0f3c9b2e"}).secret_source == "GRADER_SECRET"


def test_every_limits_field_is_a_key_and_round_trips(tmp_path):
    """The [limits] keys are Limits' fields; a value of each survives the file (so gradescope.grader_toml,
    which writes every field, writes a file load_config accepts)."""
    import dataclasses

    from grader.config import SCHEMA, Limits

    assert [s.name for s in SCHEMA if s.section == "limits"] == [f.name for f in dataclasses.fields(Limits)]
    changed = {s.name: (s.minimum + s.maximum) / 2 if s.type is float else int(s.minimum) + 1
               for s in SCHEMA if s.section == "limits"}
    path = tmp_path / "g.toml"
    path.write_text("[limits]\n" + "".join(f"{k} = {v!r}\n" for k, v in changed.items()))
    assert dataclasses.asdict(load_config(path, env={}).limits) == changed


def test_limits_is_still_importable_from_the_runner():
    from grader import config, runner

    assert runner.Limits is config.Limits


def test_show_prints_every_key_with_its_value_default_and_help(tmp_path, capsys):
    from grader.cli import main
    from grader.config import SCHEMA

    path = tmp_path / "g.toml"
    path.write_text('[grader]\nsecret = "not-printed-9d2f7a61c3"\n[limits]\ncase_seconds = 0.5\n'
                    '[written]\n"2b-proof" = 7\n')
    assert main(["config", "--show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    for s in SCHEMA:
        assert s.help in out and s.default_repr() in out
        if s.name != "*":
            assert f"{s.name} = " in out
    assert "case_seconds = 0.5" in out and '"2b-proof" = 7.0' in out and '"1a-derivation" = 5.0' in out
    assert "not-printed" not in out and "from [grader] secret" in out


def test_the_readme_table_is_the_schema():
    from grader.config import markdown_table

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- settings: generated from grader/config.py SCHEMA -->\n", "\n<!-- end settings -->"
    assert start in readme and end in readme, "the README lost its table of settings"
    assert readme.split(start, 1)[1].split(end, 1)[0] == markdown_table(), \
        "the README's table of settings differs from the schema; paste grader.config.markdown_table()"


def test_every_command_documents_every_argument_and_offers_only_what_it_uses():
    import argparse

    from grader.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in commands._choices_actions}
    for name, parser in commands.choices.items():
        assert helps.get(name), f"`grader {name}` has no help line"
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"grader {name}: {action.dest} has no help"
    options = {name: {o for a in p._actions for o in a.option_strings} for name, p in commands.choices.items()}
    runs_student_code = {"grade", "check", "batch"}
    for name, opts in options.items():
        assert ("--require-sandbox" in opts) == (name in runs_student_code | {"build-autograder"}), name
        # export and diff read only a batch's output folder: a --config would mean nothing there
        assert ("--config" in opts) == (name not in {"export", "diff"}), name


# ------------------------------------------------------------------------------------------------
# What the sandbox hides is what the assignment declares


def _registry(tmp_path, monkeypatch, name: str, body: str) -> str:
    folder = tmp_path / "registries"
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(body)
    monkeypatch.syspath_prepend(str(folder))
    return name


def test_hw3_declares_its_reference_and_its_registry():
    from grader.config import declared_private_packages

    assert load_config(env={}).private_packages() == ("reference", "assignments")
    assert declared_private_packages("no_such_registry") == ()          # e.g. the student kit: no registry


def test_the_declaration_is_read_without_running_the_registry(tmp_path, monkeypatch):
    from grader.config import declared_private_packages

    name = _registry(tmp_path, monkeypatch, "hw8_literal",
                     'PRIVATE_PACKAGES = ("hw8_answers",)\nraise RuntimeError("the registry was run")\n')
    assert declared_private_packages(name) == ("hw8_answers", "hw8_literal")


def test_a_computed_declaration_is_read_by_importing_and_a_bad_one_is_an_error(tmp_path, monkeypatch):
    from grader.config import declared_private_packages

    name = _registry(tmp_path, monkeypatch, "hw8_computed", 'PRIVATE_PACKAGES = tuple(["hw8_" + "answers"])\n')
    assert declared_private_packages(name) == ("hw8_answers", "hw8_computed")
    name = _registry(tmp_path, monkeypatch, "hw8_bad", 'PRIVATE_PACKAGES = "hw8_answers"\n')
    with pytest.raises(ConfigError, match="PRIVATE_PACKAGES must be a tuple"):
        declared_private_packages(name)


def test_the_engine_keeps_no_homework_words():
    """The engine knows nothing about RNNs: the homework's vocabulary lives in assignments/."""
    import re

    from conftest import ROOT

    words = re.compile(r"sigmoid|saturat|lstm|bptt|\bgates?\b|\brnns?\b|carousel|recurrent|jacobian", re.I)
    allowed = {"1×1 Jacobian"}          # diagnose.py: a general remark about 1×1 answers
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("grader", "templates") for path in sorted((ROOT / folder).rglob("*"))
             if path.suffix in (".py", ".html", ".css", ".j2")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if words.search(line) and not any(a in line for a in allowed)]
    assert not found, found
