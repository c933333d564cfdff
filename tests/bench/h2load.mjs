// h2load.mjs - a small HTTP/2 load generator for tests/bench/grpc.sh:
// the same client code sends REST requests and gRPC calls (framed by
// hand, no gRPC library), so that the two are compared on equal terms
// over one h2 listener.  Every answer is checked: REST by its status,
// gRPC by its grpc-status trailer.
//
// usage: node h2load.mjs URL SECONDS CONNECTIONS STREAMS KIND
//   KIND: rest-find SERVICE | grpc-find SERVICE | rest-put | grpc-put
// Environment: CA, CERT, KEY (PEM files), TOKEN (a bearer token, or
// empty for the client certificate alone).
// Prints one JSON line: {"rps","ok","bad","p50_ms","p99_ms","items"}.
import fs from 'node:fs';
import http2 from 'node:http2';

const [url, secs, conns, streams, kind, arg] = process.argv.slice(2);
const env = process.env;
const tls = {
	ca: fs.readFileSync(env.CA),
	cert: env.CERT ? fs.readFileSync(env.CERT) : undefined,
	key: env.KEY ? fs.readFileSync(env.KEY) : undefined,
	servername: 'localhost',
};

// Protobuf, by hand: only length-delimited fields are needed.
function varint(n) {
	const b = [];
	while (n > 0x7f) {
		b.push((n & 0x7f) | 0x80);
		n >>>= 7;
	}
	b.push(n);
	return Buffer.from(b);
}
function field(no, value) {
	const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
	return Buffer.concat([varint((no << 3) | 2), varint(v.length), v]);
}
function frame(msg) {
	const h = Buffer.alloc(5);
	h.writeUInt32BE(msg.length, 1);
	return Buffer.concat([h, msg]);
}
// NetworkServiceEndpoint: name 1, network_service_names 2, url 4.
function nse(name, svc, url) {
	return Buffer.concat([field(1, name), field(2, svc), field(4, url)]);
}

const run = `${process.pid}`;
function request(i) {
	const auth = env.TOKEN ? { authorization: `Bearer ${env.TOKEN}` } : {};
	const grpc = { 'content-type': 'application/grpc', te: 'trailers',
	    ...auth };
	switch (kind) {
	case 'rest-find':
		return { grpc: false, h: { ':method': 'GET',
		    ':path': `/v1/endpoints?service=${arg}`, ...auth } };
	case 'grpc-find':
		return { grpc: true, h: { ':method': 'POST', ':path':
		    '/registry.NetworkServiceEndpointRegistry/Find', ...grpc },
		    body: frame(field(1, field(2, arg))) };
	case 'rest-put':
		return { grpc: false, h: { ':method': 'PUT',
		    ':path': `/v1/endpoints/rest-${run}-${i}`,
		    'content-type': 'application/json', ...auth },
		    body: Buffer.from(JSON.stringify({ url: 'tcp://10.9.0.1:5000',
		    network_service_names: [`svc-${i % 1000}`] })) };
	case 'grpc-put':
		return { grpc: true, h: { ':method': 'POST', ':path':
		    '/registry.NetworkServiceEndpointRegistry/Register', ...grpc },
		    body: frame(nse(`grpc-${run}-${i}`, `svc-${i % 1000}`,
		    'tcp://10.9.0.1:5000')) };
	}
	throw new Error(`unknown kind ${kind}`);
}

let next = 0;
let ok = 0;
let bad = 0;
let items = 0;
let lastErr = '';
const lat = [];
const end = Date.now() + Number(secs) * 1000;
let t0 = 0;

function one(session) {
	return new Promise((resolve) => {
		const r = request(next++);
		const start = process.hrtime.bigint();
		const s = session.request(r.h, { endStream: !r.body });
		let status = 0;
		let gstatus = null;
		const chunks = [];
		s.on('response', (h) => {
			status = h[':status'];
			if (h['grpc-status'] !== undefined)
				gstatus = h['grpc-status'];
		});
		s.on('trailers', (h) => { gstatus = h['grpc-status']; });
		s.on('data', (d) => {
			if (items === 0)
				chunks.push(d);
		});
		const done = () => {
			const good = r.grpc ? status === 200 && gstatus === '0' :
			    status >= 200 && status < 300;
			if (good) {
				ok++;
				lat.push(Number(process.hrtime.bigint() - start) /
				    1e6);
				if (items === 0)
					items = count(Buffer.concat(chunks), r.grpc);
			} else {
				bad++;
				lastErr = `${status} ${gstatus}`;
			}
			resolve();
		};
		s.on('end', done);
		s.on('error', () => { bad++; resolve(); });
		if (r.body)
			s.end(r.body);
	});
}

// The records in one answer: gRPC messages, or a REST list's items.
function count(buf, grpc) {
	let n = 0;
	if (!grpc) {
		try {
			return JSON.parse(buf.toString()).items?.length ?? 1;
		} catch {
			return 0;
		}
	}
	for (let o = 0; o + 5 <= buf.length; o += 5 + buf.readUInt32BE(o + 1))
		n++;
	return n;
}

async function worker(session) {
	while (Date.now() < end)
		await one(session);
}

async function main() {
	const sessions = [];
	for (let c = 0; c < Number(conns); c++) {
		const s = http2.connect(url, tls);
		await new Promise((res, rej) => { s.once('connect', res);
			s.once('error', rej); });
		sessions.push(s);
	}
	t0 = Date.now();
	const ws = [];
	for (const s of sessions)
		for (let k = 0; k < Number(streams); k++)
			ws.push(worker(s));
	await Promise.all(ws);
	const el = (Date.now() - t0) / 1000;
	lat.sort((a, b) => a - b);
	const q = (p) => (lat.length ? lat[Math.min(lat.length - 1,
	    Math.floor(p * lat.length))].toFixed(2) : 0);
	console.log(JSON.stringify({ rps: Math.round(ok / el), ok, bad,
	    p50_ms: Number(q(0.5)), p99_ms: Number(q(0.99)), items,
	    last_error: lastErr }));
	for (const s of sessions)
		s.close();
}
main().catch((e) => { console.error(e); process.exit(2); });
