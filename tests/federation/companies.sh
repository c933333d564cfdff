# companies.sh - sourced by tests/federation/two-companies.sh and
# tests/readme.sh: one company's registry on loopback, as the README's
# "Two companies: federation" lays it out.  Needs $bin, the folder of
# nsregd and nsreg-svid.

# company DIR TD: in DIR, a CA for trust domain TD (bundle.pem,
# bundle.json), the server's SVID spiffe://TD/nsregd for localhost and
# 127.0.0.1 (server.pem, server.key), a grant key and an admin token.
company() {
	_d=$1
	mkdir -p "$_d" &&
	"$bin/nsreg-svid" -d "$_d" ca "$2" >/dev/null &&
	"$bin/nsreg-svid" -d "$_d" x509 "spiffe://$2/nsregd" --dns localhost \
	    --ip 127.0.0.1 --ttl 24h -o "$_d/server.pem" -k "$_d/server.key" &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$_d/grant.key" 2>/dev/null &&
	chmod 600 "$_d/grant.key" &&
	(umask 077 && echo "admin-$2-$$-0123456789abcdef" > "$_d/admin.token")
}

# start DIR TD: write DIR/nsregd.conf with a free port and start nsregd
# for TD in the foreground of a background job; 0 once it answers, with
# $url its URL and $startpid its process; else 1, with $startlog.
start() {
	_d=$1
	for _try in 1 2 3 4 5 6 7 8; do
		_port=$(( 20000 + ($$ * 13 + _try * 977 + $(date +%N | \
		    sed 's/^0*//;s/^$/0/') ) % 40000 ))
		cat > "$_d/nsregd.conf" <<EOC
listen https 127.0.0.1:$_port
trust-domain $2
tls-cert server.pem
tls-key server.key
trust-bundle bundle.json
database sqlite:nsreg.db
admin-token-file admin.token
grant-key grant.key
federation-refresh-min 1s
EOC
		"$bin/nsregd" -d -f "$_d/nsregd.conf" >> "$_d/nsregd.log" 2>&1 &
		startpid=$!
		url=https://127.0.0.1:$_port
		_i=0
		while [ $_i -lt 50 ]; do
			_i=$((_i + 1))
			if ! kill -0 "$startpid" 2>/dev/null; then
				break
			fi
			if curl -s --max-time 2 --cacert "$_d/bundle.pem" \
			    "$url/healthz" >/dev/null 2>&1; then
				return 0
			fi
			sleep 0.1
		done
		kill "$startpid" 2>/dev/null
		wait "$startpid" 2>/dev/null
	done
	startlog=$(tail -5 "$_d/nsregd.log")
	return 1
}
