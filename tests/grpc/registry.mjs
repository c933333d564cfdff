// registry.mjs - NSM's registry API against a live nsregd, driven by
// @grpc/grpc-js (a gRPC client that is not nsreg's code) loading the
// tree's proto/registry.proto, over mTLS with the dev SVIDs.  REST calls
// (setup, interop) go over the same HTTP/2 listener with node:http2.
// One TAP line per check.  Environment (tests/grpc/registry.sh): NSREG_H2
// (host:port of listen h2), NSREG_URL (the https listener), NSREG_DEV (the
// dev directory), NSREG_PROTO (proto/), OTHER_CERT/OTHER_KEY (an SVID of
// another workload of the trust domain).
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const env = process.env;
const dev = env.NSREG_DEV;
const h2 = env.NSREG_H2;
const ca = fs.readFileSync(`${dev}/bundle.pem`);
const cert = fs.readFileSync(`${dev}/client.pem`);
const key = fs.readFileSync(`${dev}/client.key`);
const admin = fs.readFileSync(`${dev}/admin.token`, 'utf8').trim();
const jwt = fs.readFileSync(`${dev}/client.jwt`, 'utf8').trim();

let n = 0;
let failed = 0;
function ok(cond, what, detail) {
	n++;
	if (cond)
		console.log(`ok ${n} - ${what}`);
	else {
		failed++;
		console.log(`not ok ${n} - ${what}`);
		if (detail !== undefined)
			console.log(`# ${JSON.stringify(detail)}`.slice(0, 2000));
	}
}

const def = loader.loadSync('registry.proto', {
	keepCase: true, longs: String, enums: String, defaults: true,
	includeDirs: [env.NSREG_PROTO],
});
const pkg = grpc.loadPackageDefinition(def).registry;

function creds(c, k) {
	return grpc.credentials.createSsl(ca, k ?? null, c ?? null);
}
// The server's SVID names localhost and 127.0.0.1; TLS's server name
// must not be an IP address.
const chan = { 'grpc.ssl_target_name_override': 'localhost' };
function clients(cr) {
	return {
		ns: new pkg.NetworkServiceRegistry(h2, cr, chan),
		nse: new pkg.NetworkServiceEndpointRegistry(h2, cr, chan),
	};
}
const me = clients(creds(cert, key));
const other = clients(creds(fs.readFileSync(env.OTHER_CERT),
    fs.readFileSync(env.OTHER_KEY)));
const anon = clients(creds());
const bearer = clients(grpc.credentials.combineChannelCredentials(creds(),
    grpc.credentials.createFromMetadataGenerator((_, cb) => {
	const md = new grpc.Metadata();
	md.set('authorization', `Bearer ${jwt}`);
	cb(null, md);
    })));

function unary(client, method, msg, md, opts) {
	return new Promise((resolve) => {
		client[method](msg, md ?? new grpc.Metadata(), opts ?? {},
		    (err, res) => resolve({ err, res }));
	});
}

// A Find without watch: every response, then the status.
function find(client, query, md, opts) {
	return new Promise((resolve) => {
		const out = [];
		const call = client.Find(query, md ?? new grpc.Metadata(),
		    opts ?? {});
		call.on('data', (r) => out.push(r));
		call.on('error', (err) => resolve({ err, out }));
		call.on('end', () => resolve({ err: null, out }));
	});
}

// A Find with watch: responses are queued; next() waits for one.
function watch(client, query, opts) {
	const q = [];
	const waiters = [];
	const w = { q, err: null, ended: false };
	w.call = client.Find({ ...query, watch: true }, new grpc.Metadata(),
	    opts ?? {});
	const push = () => {
		while (waiters.length > 0 && (q.length > 0 || w.ended))
			waiters.shift()();
	};
	w.call.on('data', (r) => { q.push(r); push(); });
	w.call.on('error', (err) => { w.err = err; w.ended = true; push(); });
	w.call.on('end', () => { w.ended = true; push(); });
	w.next = (ms) => new Promise((resolve) => {
		const t = setTimeout(() => resolve(null), ms ?? 10000);
		const take = () => { clearTimeout(t);
			resolve(q.length > 0 ? q.shift() : null); };
		if (q.length > 0 || w.ended)
			take();
		else
			waiters.push(take);
	});
	// Responses until pred holds for one (or the time runs out).
	w.until = async (pred, ms) => {
		const end = Date.now() + (ms ?? 10000);
		for (;;) {
			const left = end - Date.now();
			if (left <= 0)
				return null;
			const r = await w.next(left);
			if (r === null || pred(r))
				return r;
		}
	};
	return w;
}

// REST over the same h2 listener.
const session = http2.connect(`https://${h2}`, { ca, cert, key });
function rest(method, path, body, token) {
	return new Promise((resolve, reject) => {
		const h = { ':method': method, ':path': path };
		if (token)
			h.authorization = `Bearer ${token}`;
		if (body !== undefined)
			h['content-type'] = 'application/json';
		const s = session.request(h);
		let status = 0;
		let data = '';
		s.on('response', (hd) => { status = hd[':status']; });
		s.setEncoding('utf8');
		s.on('data', (d) => { data += d; });
		s.on('end', () => {
			let json = null;
			try { json = data ? JSON.parse(data) : null; } catch {}
			resolve({ status, json, data });
		});
		s.on('error', reject);
		if (body !== undefined)
			s.end(JSON.stringify(body));
		else
			s.end();
	});
}
// A REST watch stream: events queued as they arrive.
function restWatch(path) {
	const w = { events: [], buf: '' };
	w.stream = session.request({ ':method': 'GET', ':path': path });
	w.stream.setEncoding('utf8');
	w.stream.on('data', (d) => {
		w.buf += d;
		let i;
		while ((i = w.buf.indexOf('\n')) >= 0) {
			w.events.push(JSON.parse(w.buf.slice(0, i)));
			w.buf = w.buf.slice(i + 1);
		}
	});
	w.stream.on('error', () => {});
	w.wait = async (pred, ms) => {
		const end = Date.now() + (ms ?? 10000);
		while (Date.now() < end) {
			const e = w.events.find(pred);
			if (e)
				return e;
			await sleep(50);
		}
		return null;
	};
	return w;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function watchers() {
	const r = await rest('GET', '/metrics', undefined, admin);
	const m = /^nsreg_watchers (\d+)$/m.exec(r.data);
	return m ? Number(m[1]) : -1;
}
async function watchersUntil(want, ms) {
	const end = Date.now() + ms;
	let v;
	while ((v = await watchers()) !== want && Date.now() < end)
		await sleep(100);
	return v;
}
const names = (out) => out.map((r) => r.network_service_endpoint.name)
    .sort().join(',');
const ts = (ms) => ({ seconds: String(Math.floor(ms / 1000)), nanos: 0 });
const secs = (t) => (t ? Number(t.seconds) : 0);

async function main() {
	const st = grpc.status;
	let r;

	// Rules: the dev set lets the trust domain find, register and
	// unregister; services need publish.
	r = await rest('PUT', '/v1/policies/publish-services', {
		effect: 'permit', actions: ['publish'],
		condition: 'principal.trust_domain == "example.org"',
	}, admin);
	ok(r.status === 201 || r.status === 200, 'a publish rule is set',
	    r.data);

	// Register a service and two endpoints.
	r = await unary(me.ns, 'Register', {
		name: 'db', payload: 'IP', matches: [{
			source_selector: { app: 'client' },
			routes: [{ destination_selector: { zone: 'a' } }],
			fallthrough: true,
		}],
	});
	ok(!r.err && r.res.name === 'db' && r.res.matches.length === 1 &&
	    r.res.matches[0].routes[0].destination_selector.zone === 'a',
	    'NetworkServiceRegistry.Register publishes a service',
	    r.err?.details ?? r.res);
	r = await rest('GET', '/v1/services/db');
	ok(r.status === 200 && r.json.payload === 'IP' &&
	    r.json.matches[0].fallthrough === true,
	    'REST sees the service published over gRPC', r.data);

	const t0 = Date.now();
	const e1 = {
		name: 'db-1', url: 'tcp://10.0.0.1:5000',
		network_service_names: ['db'],
		network_service_labels: { db: { labels: { app: 'pg',
		    zone: 'a' } } },
		expiration_time: ts(t0 + 300000),
	};
	const e2 = {
		name: 'db-2', url: 'tcp://10.0.0.2:5000',
		network_service_names: ['db', 'cache'],
		network_service_labels: { db: { labels: { app: 'pg',
		    zone: 'b' } } },
		expiration_time: ts(t0 + 400000),
	};
	r = await unary(me.nse, 'Register', e1);
	ok(!r.err && r.res.name === 'db-1' &&
	    secs(r.res.expiration_time) === Math.floor((t0 + 300000) / 1000) &&
	    secs(r.res.initial_registration_time) >= Math.floor(t0 / 1000) - 1,
	    'Register answers with the expiry kept and the first registration',
	    r.err?.details ?? r.res);
	const irt1 = r.res?.initial_registration_time;
	r = await unary(me.nse, 'Register', e2);
	ok(!r.err && r.res.network_service_names.join() === 'db,cache' &&
	    r.res.network_service_labels.db.labels.zone === 'b',
	    'a second endpoint registers', r.err?.details ?? r.res);
	r = await unary(me.nse, 'Register', { ...e2, name: 'db-3',
	    url: 'tcp://10.0.0.3:5000', expiration_time: ts(t0 + 7200000) });
	ok(!r.err && secs(r.res.expiration_time) <=
	    Math.floor((Date.now() + 3600000) / 1000) + 1,
	    'an expiry past endpoint-max-ttl is capped',
	    r.err?.details ?? r.res);
	await unary(me.nse, 'Unregister', { name: 'db-3' });
	r = await rest('GET', '/v1/endpoints/db-1');
	ok(r.status === 200 && r.json.owner ===
	    'spiffe://example.org/ns/default/sa/client',
	    'the caller owns what it registered over gRPC', r.data);

	// Find by every field.
	const cases = [
		['an empty example', {}, 'db-1,db-2'],
		['name', { name: 'db-2' }, 'db-2'],
		['url substring', { url: '10.0.0.1' }, 'db-1'],
		['network_service_names', { network_service_names: ['db'] },
		    'db-1,db-2'],
		['network_service_names containment',
		    { network_service_names: ['cache', 'db'] }, 'db-2'],
		['network_service_labels containment',
		    { network_service_labels: { db: { labels:
		    { zone: 'a' } } } }, 'db-1'],
		['network_service_labels, two pairs',
		    { network_service_labels: { db: { labels:
		    { app: 'pg', zone: 'b' } } } }, 'db-2'],
		['expiration_time seconds',
		    { expiration_time: ts(t0 + 400000) }, 'db-2'],
		['no match', { name: 'db-9' }, ''],
	];
	for (const [what, ex, want] of cases) {
		r = await find(me.nse, { network_service_endpoint: ex });
		ok(!r.err && names(r.out) === want && r.out.every((x) =>
		    !x.deleted), `Find by ${what}`, r.err?.details ??
		    names(r.out));
	}
	r = await find(me.ns, { network_service: { name: 'db' } });
	ok(!r.err && r.out.length === 1 && r.out[0].network_service.payload ===
	    'IP', 'service Find by name', r.err?.details ?? r.out);
	r = await find(me.ns, { network_service: { payload: 'ETHERNET' } });
	ok(!r.err && r.out.length === 0, 'service Find by payload',
	    r.err?.details ?? r.out);
	r = await find(me.ns, { network_service: { matches: [{
		source_selector: { app: 'client' },
		routes: [{ destination_selector: { zone: 'a' } }],
		fallthrough: true }] } });
	ok(!r.err && r.out.length === 1, 'service Find by matches',
	    r.err?.details ?? r.out);
	r = await find(bearer.nse, { network_service_endpoint: {} });
	ok(!r.err && names(r.out) === 'db-1,db-2',
	    'a JWT-SVID in authorization metadata is a caller',
	    r.err?.details);

	// Re-Register refreshes the expiry, keeps the first registration.
	r = await unary(me.nse, 'Register', { ...e1,
	    expiration_time: ts(t0 + 500000) });
	ok(!r.err && secs(r.res.expiration_time) ===
	    Math.floor((t0 + 500000) / 1000) && irt1 &&
	    secs(r.res.initial_registration_time) === secs(irt1),
	    're-Register refreshes expiration_time and keeps ' +
	    'initial_registration_time', r.err?.details ?? r.res);

	// Owners.
	r = await unary(other.nse, 'Unregister', { name: 'db-1' });
	ok(r.err && r.err.code === st.PERMISSION_DENIED &&
	    /owned by spiffe:\/\/example.org\/ns\/default\/sa\/client/
	    .test(r.err.details), 'Unregister by a non-owner is refused',
	    r.err?.details);
	r = await unary(other.nse, 'Register', e1);
	ok(r.err && r.err.code === st.PERMISSION_DENIED,
	    'Register of another owner\'s endpoint is refused',
	    r.err?.details);

	// Credentials and protocol errors.
	r = await find(anon.nse, { network_service_endpoint: {} });
	ok(r.err && r.err.code === st.UNAUTHENTICATED &&
	    /no credential/.test(r.err.details),
	    'UNAUTHENTICATED without a credential', r.err?.details);
	r = await new Promise((resolve) => {
		me.nse.makeUnaryRequest('/registry.NetworkServiceEndpointRegistry/Nope',
		    (x) => x, (x) => x, Buffer.alloc(0), (err, res) =>
		    resolve({ err, res }));
	});
	ok(r.err && r.err.code === st.UNIMPLEMENTED,
	    'an unknown method is UNIMPLEMENTED', r.err?.details);
	r = await new Promise((resolve) => {
		me.nse.makeUnaryRequest('/registry.NetworkServiceEndpointRegistry/Register',
		    (x) => x, (x) => x, Buffer.from([0x0a, 0x05, 0x61]),
		    (err, res) => resolve({ err, res }));
	});
	ok(r.err && r.err.code === st.INVALID_ARGUMENT &&
	    r.err.details === 'malformed NetworkServiceEndpoint message',
	    'a malformed message is INVALID_ARGUMENT', r.err?.details);
	r = await new Promise((resolve) => {
		me.ns.makeUnaryRequest('/registry.NetworkServiceRegistry/Unregister',
		    (x) => x, (x) => x, Buffer.from([0x0a, 0x05, 0x61]),
		    (err, res) => resolve({ err, res }));
	});
	ok(r.err && r.err.code === st.INVALID_ARGUMENT &&
	    r.err.details === 'malformed NetworkService message',
	    'a malformed Unregister is INVALID_ARGUMENT', r.err?.details);
	r = await unary(me.nse, 'Register', { ...e1, name: 'db-4', url: '' });
	ok(r.err && r.err.code === st.INVALID_ARGUMENT &&
	    /url: required/.test(r.err.details),
	    'an invalid record is INVALID_ARGUMENT naming the field',
	    r.err?.details);
	r = await unary(me.nse, 'Unregister', { name: 'db-9' });
	ok(r.err && r.err.code === st.NOT_FOUND, 'Unregister of nothing is ' +
	    'NOT_FOUND', r.err?.details);
	r = await new Promise((resolve) => {
		const req = https.request(`${env.NSREG_URL}/registry.` +
		    'NetworkServiceEndpointRegistry/Find', { method: 'POST', ca,
		    cert, key, headers: { 'content-type': 'application/grpc',
		    te: 'trailers' } }, (res) => {
			let d = '';
			res.on('data', (x) => { d += x; });
			res.on('end', () => resolve({ status: res.statusCode,
			    data: d }));
		});
		req.on('error', (e) => resolve({ status: 0, data: String(e) }));
		req.end(Buffer.from([0, 0, 0, 0, 0]));
	});
	ok(r.status === 415 && /HTTP\/2/.test(r.data),
	    'gRPC over HTTP/1.1 gets a clear error', r);

	// Rules: a find rule hides, a register rule names itself.
	r = await rest('PUT', '/v1/policies/hide-db-2', {
		effect: 'forbid', actions: ['find'],
		condition: 'has(endpoint.name) && endpoint.name == "db-2"',
	}, admin);
	ok(r.status === 201, 'a forbid-find rule is set', r.data);
	r = await find(me.nse, { network_service_endpoint:
	    { network_service_names: ['db'] } });
	ok(!r.err && names(r.out) === 'db-1',
	    'a rule denying find hides the endpoint from Find',
	    r.err?.details ?? names(r.out));
	r = await rest('PUT', '/v1/policies/no-evil', {
		effect: 'forbid', actions: ['register'],
		condition: 'endpoint.name.startsWith("evil")',
	}, admin);
	r = await unary(me.nse, 'Register', { ...e1, name: 'evil-1' });
	ok(r.err && r.err.code === st.PERMISSION_DENIED &&
	    /no-evil/.test(r.err.details),
	    'PERMISSION_DENIED names the rule', r.err?.details);
	r = await rest('GET', '/v1/decisions?action=register&decision=deny' +
	    '&limit=20', undefined, admin);
	ok(r.status === 200 && r.json.items.some((d) =>
	    d.endpoint === 'evil-1' && d.protocol === 'grpc' &&
	    d.decision.reasons.includes('no-evil')),
	    'the decision log records the denial with protocol grpc', r.data);

	// NSM's path metadata reaches rules as request.nsm_path.
	r = await rest('PUT', '/v1/policies/no-bad-manager', {
		effect: 'forbid', actions: ['register'],
		condition: 'has(request.nsm_path) && request.nsm_path.exists(' +
		    's, s.name == "bad-nsmgr")',
	}, admin);
	ok(r.status === 201, 'a rule on request.nsm_path is accepted', r.data);
	const md = new grpc.Metadata();
	md.set('path', JSON.stringify({ index: 1, path_segments: [
	    { name: 'nse-1', id: 'a', token: 'x' },
	    { name: 'bad-nsmgr', id: 'b', token: 'y' }] }));
	r = await unary(me.nse, 'Register', { ...e1, name: 'db-5' }, md);
	ok(r.err && r.err.code === st.PERMISSION_DENIED &&
	    /no-bad-manager/.test(r.err.details),
	    'request.nsm_path holds the path metadata\'s segments',
	    r.err?.details);
	r = await unary(me.nse, 'Register', { ...e1, name: 'db-5' });
	ok(!r.err, 'without path metadata the rule does not apply',
	    r.err?.details);
	await unary(me.nse, 'Unregister', { name: 'db-5' });
	r = await rest('POST', '/v1/decisions/evaluate', {
		principal: 'spiffe://example.org/ns/default/sa/client',
		action: 'register', endpoint: 'db-5', protocol: 'grpc',
		nsm_path: [{ name: 'bad-nsmgr', id: 'b' }],
	}, admin);
	ok(r.status === 200 && r.json.decision === 'deny' &&
	    r.json.reasons.includes('no-bad-manager'),
	    'evaluate takes protocol and nsm_path', r.data);
	for (const p of ['hide-db-2', 'no-evil', 'no-bad-manager'])
		await rest('DELETE', `/v1/policies/${p}`, undefined, admin);

	// Watch: the matches, then changes, removals and expiries.
	const base = await watchers();
	const w = watch(me.nse, { network_service_endpoint:
	    { network_service_names: ['db'] } });
	const first = [await w.next(), await w.next()];
	ok(first.every((x) => x && !x.deleted) && names(first) === 'db-1,db-2',
	    'Find with watch sends the current matches', first);
	ok(await watchersUntil(base + 1, 5000) === base + 1,
	    'the watch counts in nsreg_watchers');
	await unary(me.nse, 'Register', { ...e1, url: 'tcp://10.0.0.9:5000' });
	r = await w.until((x) => x.network_service_endpoint.name === 'db-1');
	ok(r && !r.deleted && r.network_service_endpoint.url ===
	    'tcp://10.0.0.9:5000', 'a change reaches the watch', r);
	await unary(me.nse, 'Unregister', { name: 'db-2' });
	r = await w.until((x) => x.network_service_endpoint.name === 'db-2');
	ok(r && r.deleted === true, 'Unregister reaches the watch as deleted',
	    r);
	await unary(me.nse, 'Register', { ...e1, name: 'db-6',
	    expiration_time: ts(Date.now() + 2000) });
	r = await w.until((x) => x.network_service_endpoint.name === 'db-6');
	ok(r && !r.deleted, 'a new endpoint reaches the watch', r);
	r = await w.until((x) => x.network_service_endpoint.name === 'db-6',
	    15000);
	ok(r && r.deleted === true, 'an expiry reaches the watch as deleted',
	    r);

	// Interop: REST registers, the gRPC watch sees it; gRPC registers,
	// a REST watch sees it.
	r = await rest('PUT', '/v1/endpoints/rest-1', {
		url: 'tcp://10.1.0.1:5000', network_service_names: ['db'],
	});
	ok(r.status === 201, 'REST registers an endpoint', r.data);
	r = await w.until((x) => x.network_service_endpoint.name === 'rest-1');
	ok(r && !r.deleted && r.network_service_endpoint.url ===
	    'tcp://10.1.0.1:5000',
	    'an endpoint registered over REST reaches the gRPC watch', r);
	const rw = restWatch('/v1/endpoints?service=db&watch=true');
	await rw.wait((e) => e.type === 'BOOKMARK');
	await unary(me.nse, 'Register', { ...e1, name: 'grpc-7' });
	r = await rw.wait((e) => e.type === 'ADDED' &&
	    e.object.name === 'grpc-7');
	ok(r && r.object.owner === 'spiffe://example.org/ns/default/sa/client',
	    'an endpoint registered over gRPC reaches a REST watch', r);
	rw.stream.close();

	// Cancellation frees the watcher.
	w.call.cancel();
	ok(await watchersUntil(base, 5000) === base,
	    'cancelling the Find drops nsreg_watchers', await watchers());

	// A deadline ends a watch with DEADLINE_EXCEEDED, and the server
	// lets go of it.
	const wd = watch(me.nse, { network_service_endpoint: {} },
	    { deadline: Date.now() + 1500 });
	await wd.until(() => false, 6000);
	ok(wd.ended && wd.err && wd.err.code === st.DEADLINE_EXCEEDED,
	    'a watch past its deadline ends with DEADLINE_EXCEEDED',
	    wd.err?.code);
	ok(await watchersUntil(base, 5000) === base,
	    'the expired watch is freed');
	// The server ends it itself: a raw HTTP/2 call that never cancels.
	r = await new Promise((resolve) => {
		const t = Date.now();
		const s = session.request({ ':method': 'POST',
		    ':path': '/registry.NetworkServiceEndpointRegistry/Find',
		    'content-type': 'application/grpc', te: 'trailers',
		    'grpc-timeout': '1500m' });
		let tr = null;
		s.on('trailers', (h) => { tr = h; });
		s.on('data', () => {});
		s.on('end', () => resolve({ tr, ms: Date.now() - t }));
		s.on('error', (e) => resolve({ tr, ms: -1, e: String(e) }));
		s.end(Buffer.from([0, 0, 0, 0, 2, 0x10, 0x01]));
	});
	ok(r.tr && r.tr['grpc-status'] === '4' && r.ms >= 1400 &&
	    r.ms < 5000, 'the server ends a watch at its grpc-timeout ' +
	    'with DEADLINE_EXCEEDED', r);
	r = await find(me.nse, { network_service_endpoint: {} },
	    undefined, { deadline: Date.now() + 5000 });
	ok(!r.err, 'a Find within its deadline succeeds', r.err?.details);

	// Service Unregister.
	r = await unary(me.ns, 'Unregister', { name: 'db' });
	ok(!r.err, 'NetworkServiceRegistry.Unregister deletes', r.err?.details);
	r = await rest('GET', '/v1/services/db');
	ok(r.status === 404, 'REST no longer sees the service', r.status);

	console.log(`1..${n}`);
	session.close();
	for (const c of [me, other, anon, bearer]) {
		c.ns.close();
		c.nse.close();
	}
	process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log(`not ok ${n + 1} - the test threw: ${e.stack}`);
	console.log(`1..${n + 1}`);
	process.exit(1);
});
