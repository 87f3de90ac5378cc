#!/usr/bin/env bash
# Runs the go-driver v2 integration tests in cluster mode (TEST_MODE=cluster) against
# bin/arangotest --cluster (3 Coordinators, 3 DB-Servers) through scripts/conformance.sh and
# prints "N passed, M failed, K skipped" (top-level tests).
#
# Environment: as scripts/conformance.sh; CONFORMANCE_CLUSTER_ARGS replaces the topology flags.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONFORMANCE_MODE=cluster
export CONFORMANCE_ARGS="${CONFORMANCE_CLUSTER_ARGS:---cluster --coordinators 3 --dbservers 3} ${CONFORMANCE_ARGS:-}"
export CONFORMANCE_OUT=${CONFORMANCE_OUT:-${TMPDIR:-/tmp}/arangotest-conformance-cluster.json}
exec ./scripts/conformance.sh
