#!/usr/bin/env bash
# make demo: arangotest with sample data -> godump -> gorestore into a fresh database -> compare.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./tools/demo
