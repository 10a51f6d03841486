#!/usr/bin/env bash
# Refreshes the locks from pyproject.toml: lock.txt pins everything a developer and CI
# install (every extra and dependency group), run.txt the runtime and build subset that
# README's main job installs, at the same versions. Pass --upgrade to take new releases,
# or --upgrade-package NAME for one. Needs uv (in lock.txt: .venv/bin/uv).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-$(command -v .venv/bin/uv || command -v uv)}
common=(--universal --python-version 3.11 --generate-hashes --quiet)
"$uv" pip compile pyproject.toml --all-extras --group compile --group build --group lint \
    --group lock --group fuzz "${common[@]}" "$@" -o requirements/lock.txt
"$uv" pip compile pyproject.toml --group compile --constraint requirements/lock.txt \
    "${common[@]}" -o requirements/run.txt
