#!/bin/sh
# npm-ci.sh - the npm packages of a node-driven suite, installed into its
# run directory once (tests/grpc/registry.sh, tests/ui/console.sh).
#
# usage: sh tests/npm-ci.sh SRC WORK MODULE FILE...
#
# Copies FILE... (package.json and package-lock.json among them) from
# SRC into WORK (created when missing), then runs npm ci in WORK unless
# WORK/node_modules/MODULE is there, installed from the same
# package-lock.json.  Exits 0, or 1 after a TAP "Bail out!" line.
src=$1
work=$2
module=$3
shift 3

mkdir -p "$work" || { echo "Bail out! cannot create $work"; exit 1; }
for f in "$@"; do
	cp "$src/$f" "$work/$f" || {
		echo "Bail out! cannot copy $f"; exit 1; }
done
chmod u+w "$work"/*
if [ ! -d "$work/node_modules/$module" ] ||
    ! cmp -s "$work/package-lock.json" \
    "$work/node_modules/.nsreg-package-lock.json"; then
	if ! (cd "$work" && npm ci --no-audit --no-fund >npm.log 2>&1); then
		echo "Bail out! npm ci failed (see $work/npm.log)"
		exit 1
	fi
	cp "$work/package-lock.json" "$work/node_modules/.nsreg-package-lock.json"
fi
