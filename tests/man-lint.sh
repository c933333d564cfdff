#!/bin/sh
# man-lint.sh - every page in man/ is clean under mandoc -Tlint, with the
# project's own pages as the manual path so cross references resolve.
# Speaks TAP.
src=${NSREG_SRCDIR:-.}
PATH=$PATH:/usr/sbin:/sbin
pages=$(ls "$src"/man/*.[1-8] 2>/dev/null)
n=$(echo "$pages" | wc -w)
echo "1..$n"
if ! command -v mandoc >/dev/null 2>&1; then
	i=0
	for p in $pages; do
		i=$((i + 1))
		echo "not ok $i - $(basename "$p"): mandoc is not installed"
	done
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in $pages; do
	sec=${p##*.}
	mkdir -p "$tmp/man$sec"
	cp "$p" "$tmp/man$sec/"
done
makewhatis "$tmp" >/dev/null 2>&1
i=0
for p in $pages; do
	i=$((i + 1))
	out=$(mandoc -Tlint -Wstyle -M "$tmp" "$p" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		echo "ok $i - $(basename "$p") is clean under mandoc -Tlint"
	else
		echo "not ok $i - $(basename "$p") is clean under mandoc -Tlint"
		echo "$out" | sed 's/^/# /'
	fi
done
