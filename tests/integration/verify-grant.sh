#!/bin/sh
# verify-grant.sh TOKEN JWKS AUDIENCE: check a grant offline, as a forwarder
# does, with openssl and jq: an ES256 signature by a key of the JWKS file
# (from GET /v1/jwks), then the audience and the times.  Prints the grant.
set -eu
tok=$1 jwks=$2 aud=$3 t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
b64d() { s=$(printf %s "$1" | tr _- /+); while [ $((${#s} % 4)) -ne 0 ]; do s=$s=; done; printf %s "$s" | base64 -d; }
hex() { b64d "$1" | xxd -p | tr -d '\n'; }
int() { v=$(printf %s "$1" | sed 's/^\(00\)*//'); case $v in [89a-f]*) v=00$v;; esac; printf 02%02x%s $((${#v} / 2)) "$v"; }
rest=${tok#*.} h=$(b64d "${tok%%.*}") p=$(b64d "${rest%%.*}")
[ "$(printf %s "$h" | jq -r .alg)" = ES256 ] || { echo "alg is not ES256" >&2; exit 1; }
jwk=$(jq -ce --arg k "$(printf %s "$h" | jq -r .kid)" '.keys[] | select(.kid == $k)' "$jwks") || { echo "unknown kid" >&2; exit 1; }
printf 3059301306072a8648ce3d020106082a8648ce3d03010703420004%s%s "$(hex "$(printf %s "$jwk" | jq -r .x)")" \
    "$(hex "$(printf %s "$jwk" | jq -r .y)")" | xxd -r -p > "$t/key.der"
s=$(hex "${tok##*.}") && r=$(int "$(printf %s "$s" | cut -c1-64)")$(int "$(printf %s "$s" | cut -c65-128)")
printf 30%02x%s $((${#r} / 2)) "$r" | xxd -r -p > "$t/sig.der"
printf %s "${tok%.*}" | openssl dgst -sha256 -verify "$t/key.der" -keyform DER -signature "$t/sig.der" >/dev/null ||
    { echo "bad signature" >&2; exit 1; }
printf %s "$p" | jq -e --arg a "$aud" --argjson n "$(date +%s)" '.aud == $a and .nbf <= $n and .exp > $n' >/dev/null ||
    { echo "not for $aud, or not valid now" >&2; exit 1; }
printf %s "$p" | jq -c '{sub, jti, exp, nsreg}'
