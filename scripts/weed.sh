#!/usr/bin/env bash
# Builds SeaweedFS's `weed` command into bin/weed, the S3-compatible server that
# the object-storage tests start (package objstore/s3test). It does nothing
# when bin/weed is already the pinned version (recorded in bin/weed.version).
# weed is built from its own module in the Go module cache, with its own go.mod
# (which has a replace directive, so `go install pkg@version` refuses it): it
# never enters this repository's go.mod.
#
# Cold (empty module and build caches, 2 cores) this takes about 6.5 minutes:
# ~25 s of downloads and ~6 min of compiling; with warm caches, seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
WEED_MODULE=github.com/seaweedfs/seaweedfs
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
GO=${GO:-go}
out=bin/weed
stamp=bin/weed.version

if [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$WEED_VERSION" ]; then
	echo "weed.sh: $out is $WEED_MODULE@$WEED_VERSION, nothing to do"
	exit 0
fi

# weed's go.mod asks for go 1.26.6; this machine's Go is newer. Should a new
# pin ask for a Go newer than the local one, run this script with
# GOTOOLCHAIN=go1.27.3 (the approved toolchain), for this build only.
t0=$(date +%s)
dir=$(GOFLAGS=-mod=mod "$GO" mod download -json "$WEED_MODULE@$WEED_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/weed" ]; then
	echo "weed.sh: could not download $WEED_MODULE@$WEED_VERSION" >&2
	exit 1
fi
repo=$PWD
mkdir -p bin
# Download only the packages weed needs, then build: timed apart.
(cd "$dir" && "$GO" list -deps ./weed >/dev/null)
t1=$(date +%s)
(cd "$dir" && "$GO" build -o "$repo/$out.tmp" ./weed)
mv "$out.tmp" "$out"
echo "$WEED_VERSION" >"$stamp"
t2=$(date +%s)
echo "weed.sh: built $out ($WEED_MODULE@$WEED_VERSION) in $((t2 - t0)) s: download $((t1 - t0)) s, build $((t2 - t1)) s"
