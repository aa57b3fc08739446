#!/usr/bin/env bash
# Everything on a fresh Debian/Ubuntu machine, in one command, as root or as a user with sudo:
#   system packages (python3-venv; bubblewrap, the sandbox; chromium + chromedriver, for the
#   browser test of the HTML reports) when they are missing and can be installed, the virtualenv
#   .venv with the project and its test tools, then the main job on the bundled examples.
# Idempotent: a second run installs nothing new and grades again. sudo is used only when not root
# and sudo exists; without either, system packages are skipped with a note (the grader then falls
# back to the rlimits sandbox and the browser test is skipped), never a failure.
# Then run the tests: .venv/bin/python -m pytest
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }

# Run a command as root: directly when root, through sudo when it exists, else not at all (status 1).
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

missing_packages() {
    local wanted=()
    command -v python3 >/dev/null 2>&1 || wanted+=(python3)
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || wanted+=(python3-venv)
    command -v bwrap >/dev/null 2>&1 || wanted+=(bubblewrap)
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        wanted+=(chromium)
    fi
    command -v chromedriver >/dev/null 2>&1 || wanted+=(chromium-driver)
    if [ "${#wanted[@]}" -gt 0 ]; then printf '%s\n' "${wanted[@]}"; fi
}

install_system_packages() {
    local wanted
    mapfile -t wanted < <(missing_packages)
    if [ "${#wanted[@]}" = 0 ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "not a Debian/Ubuntu system (no apt-get): install ${wanted[*]} yourself if you need them"
        return 0
    fi
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        say "neither root nor sudo: skipping the system packages ${wanted[*]}"
        return 0
    fi
    say "installing ${wanted[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || say "apt-get update failed; trying the install anyway"
    # One package at a time: one that this release lacks (chromium is a snap on Ubuntu) must not
    # keep the others out.
    local package
    for package in "${wanted[@]}"; do
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null \
            || say "could not install $package; continuing without it"
    done
}

# The Python that .venv is made from. The grader, its sandboxed workers and the tests all run on
# it, and builds of the same version differ in speed: on this project's machine pyenv's python3
# (built without profile-guided optimisation, libpython shared) took 1.4x the CPU of Debian's
# python3.11 (PGO and LTO) for a plain loop, and the whole test suite 10% more. So, unless $PYTHON
# names one, each Python 3.10+ with venv found here is timed on a short pure-Python workload and
# the fastest is taken; python3 on PATH keeps its place unless another is 10% faster (two builds
# that are equally fast must not trade places from one run to the next).
PYTHON_CANDIDATES=${SETUP_PYTHON_CANDIDATES:-"python3 /usr/bin/python3 /usr/local/bin/python3"}
FASTER_BY=0.9

# "<cpu seconds> <real executable>" for a Python that can make .venv (3.10+, venv and ensurepip);
# nothing (status 1) for any other program.
python_speed() {
    command -v "$1" >/dev/null 2>&1 || return 1
    "$1" - <<'PY' 2>/dev/null
import os, sys, time
if sys.version_info < (3, 10):
    sys.exit(1)
import ensurepip, venv  # noqa: E401,F401 - missing: this Python cannot make .venv
def work():
    table = {}
    for i in range(300000):
        table[i & 1023] = str(i)[-3:] + "x"
    return len(table)
best = None
for _ in range(3):
    start = time.process_time()
    work()
    spent = time.process_time() - start
    best = spent if best is None else min(best, spent)
print(f"{best:.4f} {os.path.realpath(sys.executable)}")
PY
}

choose_python() {
    if [ -n "${PYTHON:-}" ]; then
        python_speed "$PYTHON" >/dev/null || { say "PYTHON=$PYTHON is not a Python 3.10+ with venv"; return 1; }
        printf '%s\n' "$PYTHON"
        return 0
    fi
    local candidate speed seconds path best="" best_seconds="" seen=" "
    for candidate in $PYTHON_CANDIDATES; do
        speed=$(python_speed "$candidate") || continue
        seconds=${speed%% *}
        path=${speed#* }
        case "$seen" in *" $path "*) continue ;; esac
        seen="$seen$path "
        if [ -z "$best" ]; then
            best=$path best_seconds=$seconds
        elif awk -v a="$seconds" -v b="$best_seconds" -v f="$FASTER_BY" 'BEGIN { exit !(a < b * f) }'; then
            say "taking $path for .venv: ${seconds}s against ${best_seconds}s for $best on the same work"
            best=$path best_seconds=$seconds
        fi
    done
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}

main() {
    cd "$(dirname "${BASH_SOURCE[0]}")"
    install_system_packages

    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
        local python
        if ! python=$(choose_python); then
            say "no Python 3.10 or newer with venv here (python3: $(python3 -V 2>&1 || echo missing)): install one (and python3-venv), then run ./setup.sh again"
            exit 1
        fi
        rm -rf .venv
        "$python" -m venv .venv || { say "$python -m venv failed: install python3-venv, then run ./setup.sh again"; exit 1; }
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

    command -v bwrap >/dev/null 2>&1 || say "no bubblewrap: grading uses the weaker rlimits sandbox (see README)"

    # The main job, on the bundled examples.
    .venv/bin/grader batch submissions/ --out reports/
}

# Sourced (as the tests do), the script only defines its functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
