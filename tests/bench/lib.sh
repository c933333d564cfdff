# lib.sh - helpers the benchmark scripts share; sourced, not run.
# Needs $tmp (the directory holding bundle.pem) before wait_healthy runs.

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
