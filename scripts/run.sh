#!/usr/bin/env bash
# Installs what is missing, builds, and starts sonde in the foreground on :9115.
# Extra arguments go to sonde, e.g. scripts/run.sh --config.file=deploy/sonde.yml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/sonde "$@"
