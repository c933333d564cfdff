# lib.sh - helpers the benchmark scripts share; sourced, not run.
# The nsregd helpers use $nsregd (the program) and $tmp (the directory
# holding its identities, bundle.pem among them).

bench=$(basename "$0")

port() {	# a free TCP port on 127.0.0.1
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	    echo $((20000 + $$ % 20000))
}
wait_healthy() {	# wait_healthy URL
	i=0
	while [ $i -lt 100 ]; do
		curl -sf --cacert "$tmp/bundle.pem" "$1/healthz" >/dev/null &&
		    return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "$bench: $1 did not come up" >&2
	exit 2
}
field() {	# field NAME JSON: a number member of a loadgen report
	echo "$2" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}
need_built() {	# need_built PROG...: each is built, or exit 2
	for _p in "$@"; do
		[ -x "$_p" ] || { echo "$bench: $_p not built" >&2; exit 2; }
	done
}
need_plain() {	# need_plain PROG: no sanitizer build (timings), or exit 2
	if ldd "$1" | grep -q libasan; then
		echo "$bench: $1 is a sanitizer build; timings need a" \
		    "plain one" >&2
		exit 2
	fi
}
dev_identities() {	# dev_identities PORT: nsregd --dev writes into $tmp
	# the CA, the server's and a client's SVIDs, admin.token and
	# grant.key; it runs on PORT until healthy, then stops.
	"$nsregd" --dev "$tmp" --port "$1" >/dev/null 2>&1 &
	_dev=$!
	wait_healthy "https://127.0.0.1:$1"
	kill "$_dev"
	wait "$_dev" 2>/dev/null
}
bench_conf() {	# bench_conf PORT DATABASE: the lines every bench config
	# starts with (the identities of dev_identities), on stdout
	cat <<CONF
listen https 127.0.0.1:$1
trust-domain example.org
server-id spiffe://example.org/nsregd
tls-cert server.pem
tls-key server.key
trust-bundle bundle.json
database $2
admin-token-file admin.token
CONF
}
bench_cleanup() {	# every process in $pids killed (-9), $tmp removed
	for _p in ${pids:-}; do kill -9 "$_p" 2>/dev/null; done
	rm -rf "$tmp"
}
nsregd_start() {	# nsregd_start CONF LOG URL: nsregd -d -f CONF in the
	# background, its stderr appended to LOG, until URL is healthy; its
	# pid in $srv and added to $pids (the cleanup's) before the wait
	"$nsregd" -d -f "$1" 2>>"$2" &
	srv=$!
	pids="${pids:-} $srv"
	wait_healthy "$3"
}
