#!/usr/bin/env bash
# Builds linegate and runs it on a configuration (examples/quickstart.yaml by default):
# control starts signaling, the media processes and tdm, and supervises them.
# Stop it with Ctrl-C (or SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release
exec build/release/bin/linegate run -c "${1:-examples/quickstart.yaml}"
