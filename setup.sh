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

main() {
    cd "$(dirname "${BASH_SOURCE[0]}")"
    install_system_packages

    if ! command -v python3 >/dev/null 2>&1; then
        say "python3 is missing and could not be installed: install Python 3.10 or newer, then run ./setup.sh again"
        exit 1
    fi
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        say "Python 3.10 or newer is needed; this python3 is $(python3 -V 2>&1)"
        exit 1
    fi
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
        rm -rf .venv
        python3 -m venv .venv || { say "python3 -m venv failed: install python3-venv, then run ./setup.sh again"; exit 1; }
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
