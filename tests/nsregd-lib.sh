# shellcheck shell=sh
# nsregd-lib.sh - what the node-driven suites (tests/grpc/registry.sh,
# tests/ui/console.sh) share about the nsregd they run; sourced, not run.

# two_ports: a free TCP port on 127.0.0.1 whose next one is free too
# (nsregd --dev serves HTTP/2 on the next one), on stdout.
two_ports() {
	node -e 'const net = require("net");
function free(p) {
	return new Promise((ok) => { const s = net.createServer();
	s.once("error", () => ok(0));
	s.listen(p, "127.0.0.1", () => { const q = s.address().port;
	s.close(() => ok(q)); }); });
}
(async () => {
	for (let i = 0; i < 50; i++) {
		const p = await free(0);
		if (p && p < 65535 && await free(p + 1)) {
			console.log(p);
			return;
		}
	}
	process.exit(1);
})();'
}

# nsregd_ready PID URL CA LOG: wait (20 s at most) until URL/readyz
# answers, or bail out when nsregd PID has exited.
nsregd_ready() {
	_i=0
	until curl -sf --cacert "$3" "$2/readyz" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ "$_i" -gt 200 ] || ! kill -0 "$1" 2>/dev/null; then
			echo "Bail out! nsregd did not start (see $4)"
			exit 1
		fi
		sleep 0.1
	done
}

# nsregd_stopped PID LOG: stop nsregd PID with SIGTERM; a graceful stop
# exits 0, so under the sanitizer build a leak or undefined behaviour
# fails the suite (bail out, with the end of LOG).
nsregd_stopped() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	_st=$?
	if [ "$_st" -ne 0 ]; then
		echo "Bail out! nsregd exited with status $_st on SIGTERM"
		tail -n 60 "$2" | sed 's/^/# /'
		exit 1
	fi
}
