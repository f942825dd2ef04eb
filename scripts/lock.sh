#!/usr/bin/env bash
# Regenerate constraints.txt: the exact versions CI tests and the README installs (pip install -c constraints.txt).
#
# Why a constraints file: plain pip reads it (a newcomer needs no extra tool), it pins the whole tree the
# tests ran with, and pyproject.toml keeps the abstract ranges for people who embed the bot. uv writes it
# because it resolves for every platform and Python at once (--universal: markers where versions differ).
# Run after changing a dependency in pyproject.toml, then run the tests and commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
python3 -m venv "$tool/venv" && "$tool/venv/bin/pip" install -q uv
"$tool/venv/bin/uv" pip compile pyproject.toml --extra test --universal --python-version 3.11 \
  --custom-compile-command "bash scripts/lock.sh" -o constraints.txt "$@"
