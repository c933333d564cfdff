// console.mjs - the console in a real browser (run by console.sh).
//
// Environment: NSREG_URL (https://127.0.0.1:PORT of a fresh nsregd --dev),
// NSREG_DEV (its directory), CHROMIUM, SHOTS (screenshot directory),
// NSREG_H2_URL (the same server's HTTP/2 listener, --dev's next port),
// WORK (a scratch directory), NSREG_NSS (a folder of HOMEs, ops/ and
// client/, each with an NSS database holding that X.509-SVID; empty:
// the sign-in by certificate is skipped).
// Records are made with curl, as an operator's workloads would, and the
// page must show them without a reload.  Prints TAP.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync }
    from 'node:fs';
import puppeteer from 'puppeteer-core';

const base = process.env.NSREG_URL;
const dev = process.env.NSREG_DEV;
const shots = process.env.SHOTS;
const origin = new URL(base).origin;
const h2base = process.env.NSREG_H2_URL;
const adminToken = readFileSync(`${dev}/admin.token`, 'utf8').trim();
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " +
    "base-uri 'none'; form-action 'self'";

let n = 0;
let failed = 0;

function skip(desc, why) {
	n++;
	console.log(`ok ${n} - ${desc} # SKIP ${why}`);
}

function tap(ok, desc, why) {
	n++;
	if (!ok)
		failed++;
	console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${desc}`);
	if (!ok && why)
		console.log(`# ${String(why).split('\n').join('\n# ')}`);
}

async function check(desc, fn) {
	try {
		const r = await fn();
		tap(r !== false, desc, r === false ? 'condition false' : null);
	} catch (e) {
		tap(false, desc, e && e.stack ? e.stack : e);
	}
}

// curl as a workload (client certificate) or as the admin.
function curl(method, path, body, who = 'client') {
	const args = ['-sS', '--cacert', `${dev}/bundle.pem`, '-X', method,
	    '-o', '-', '-w', '\n%{http_code}'];
	if (who === 'client')
		args.push('--cert', `${dev}/client.pem`, '--key',
		    `${dev}/client.key`);
	else if (who === 'admin')
		args.push('-H', `Authorization: Bearer ${adminToken}`);
	if (body !== undefined)
		args.push('-H', 'Content-Type: application/json', '-d',
		    JSON.stringify(body));
	args.push(`${base}${path}`);
	const out = execFileSync('curl', args, { encoding: 'utf8',
	    stdio: ['ignore', 'pipe', 'pipe'] });
	const nl = out.lastIndexOf('\n');
	const text = out.slice(0, nl);
	let json = null;
	try {
		json = JSON.parse(text);
	} catch {
		// not JSON
	}
	return { status: Number(out.slice(nl + 1)), body: json, text };
}

function ready() {
	try {
		return curl('GET', '/readyz', undefined, 'none').status === 200;
	} catch {
		return false;
	}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let child = null;

// Stop the server console.sh started and start it again on the same
// port and directory (the old one may take a moment to let go of both).
async function restart() {
	process.kill(Number(process.env.NSREGD_PID), 'SIGTERM');
	for (let i = 0; i < 100 && ready(); i++)
		await sleep(100);
	const port = new URL(base).port;
	const log = openSync(process.env.NSREGD_LOG, 'a');
	for (let tries = 0; tries < 20; tries++) {
		let exited = false;
		child = spawn(process.env.NSREGD, ['--dev', dev, '--port', port],
		    { stdio: ['ignore', log, log] });
		child.on('exit', () => { exited = true; });
		for (let i = 0; i < 100 && !exited; i++) {
			if (ready())
				return;
			await sleep(100);
		}
		if (!exited)
			child.kill('SIGKILL');
		await sleep(500);
	}
	throw new Error('nsregd did not start again');
}

function iso(msFromNow) {
	return new Date(Date.now() + msFromNow).toISOString().replace(/\.\d+Z$/,
	    'Z');
}

// A Chromium whose HOME holds the NSS database of who (none: an empty
// HOME, so that no certificate of the machine's user is ever offered).
// Its profile lets it present that certificate to this origin without a
// selection dialog (the AutoSelectCertificateForUrls content setting).
function launch(who) {
	const work = process.env.WORK;
	const home = who ? `${process.env.NSREG_NSS}/${who}` :
	    `${work}/home-none`;
	const profile = `${work}/profile-${who || 'none'}`;
	rmSync(profile, { recursive: true, force: true });
	mkdirSync(`${profile}/Default`, { recursive: true });
	mkdirSync(home, { recursive: true });
	if (who)
		writeFileSync(`${profile}/Default/Preferences`, JSON.stringify({
		    profile: { content_settings: { exceptions: {
		    auto_select_certificate: { [`${origin},*`]: {
		    setting: { filters: [{}] } } } } } } }));
	return puppeteer.launch({
		executablePath: process.env.CHROMIUM,
		headless: true,
		acceptInsecureCerts: true,
		userDataDir: profile,
		env: { ...process.env, HOME: home },
		args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
		    '--disable-extensions', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'],
	});
}

const browser = await launch(null);
const watchdog = setTimeout(() => {
	console.log('Bail out! the browser test took more than 5 minutes');
	if (child)
		child.kill('SIGKILL');
	process.exit(1);
}, 300000);

const foreign = [];
const problems = [];
const decisionQueries = [];

// Every page: requests to another origin than its own are recorded and
// refused, CSP reports and script errors recorded.
async function guard(p, own = origin) {
	await p.setViewport({ width: 1280, height: 900 });
	p.setDefaultTimeout(20000);
	await p.setRequestInterception(true);
	p.on('request', (req) => {
		const u = req.url();
		if (u.startsWith('data:') || new URL(u).origin === own) {
			if (new URL(u).pathname === '/v1/decisions')
				decisionQueries.push(new URL(u).searchParams);
			req.continue();
			return;
		}
		foreign.push(u);
		req.abort();
	});
	p.on('console', (m) => {
		if (/Content Security Policy|Refused to/i.test(m.text()))
			problems.push(m.text());
	});
	p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	return p;
}

const page = await guard(await browser.newPage());

async function shot(name) {
	await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function go(view) {
	await page.evaluate((v) => { location.hash = `#/${v}`; }, view);
	await page.waitForSelector(`[data-view="${view}"]`);
}

const text = (sel) => page.$eval(sel, (e) => e.textContent);

// Click what sel matches now.  page.click finds the element, then scrolls
// it into view and measures it in separate round trips: a list the page
// re-renders meanwhile (a watch event, the decisions' 5 s re-read)
// replaces the element and the click fails with "Node is detached from
// document".  Then the selector is queried again, for at most 20 s.
async function click(p, sel) {
	const until = Date.now() + 20000;

	for (;;) {
		try {
			await p.waitForSelector(sel);
			await p.click(sel);
			return;
		} catch (e) {
			if (!/detached|not visible|0 width|0 height/.test(
			    String(e && e.message)) || Date.now() > until)
				throw e;
		}
		await sleep(100);
	}
}

// ---- served by nsregd, with its headers
let resp = await page.goto(`${base}/ui/`, { waitUntil: 'networkidle0' });
const hd = resp.headers();
await check('GET /ui/ is 200 text/html', () =>
    resp.status() === 200 && hd['content-type'].startsWith('text/html'));
await check('the page has the strict Content-Security-Policy', () =>
    hd['content-security-policy'] === CSP);
await check('nosniff, no-referrer, ETag and Cache-Control are sent', () =>
    hd['x-content-type-options'] === 'nosniff' &&
    hd['referrer-policy'] === 'no-referrer' && /^"/.test(hd.etag) &&
    hd['cache-control'] === 'no-cache');
await check('app.js is served as JavaScript with the same CSP', async () => {
	const r = curl('GET', '/ui/app.js', undefined, 'none');
	const h = execFileSync('curl', ['-sS', '-D', '-', '-o', '/dev/null',
	    '--cacert', `${dev}/bundle.pem`, `${base}/ui/app.js`],
	    { encoding: 'utf8' });
	return r.status === 200 && /content-type: text\/javascript/i.test(h) &&
	    h.includes(CSP);
});
await check('/ui redirects to /ui/', () => {
	const h = execFileSync('curl', ['-sS', '-D', '-', '-o', '/dev/null',
	    '--cacert', `${dev}/bundle.pem`, `${base}/ui`], { encoding: 'utf8' });
	return /^HTTP\/1\.1 301/.test(h) && /location: \/ui\/\r?$/im.test(h);
});
await check('a file the console does not have is 404 JSON', () => {
	const r = curl('GET', '/ui/secret.txt', undefined, 'none');
	return r.status === 404 && r.body.error.code === 'not_found';
});

// ---- sign-in
await check('the sign-in form has input name=token and a submit button',
    async () => (await page.$('form input[name="token"]')) !== null &&
    (await page.$('form button[type="submit"]')) !== null);
await page.type('input[name="token"]', 'not-the-token');
await click(page, 'form button[type="submit"]');
await check('a wrong token is refused with a message', async () => {
	await page.waitForFunction(() => document.getElementById(
	    'signin-error').textContent.length > 0);
	return (await page.evaluate(() => sessionStorage.length)) === 0;
});
await shot('signin');
await page.$eval('input[name="token"]', (e) => { e.value = ''; });
await page.type('input[name="token"]', adminToken);
await click(page, 'form button[type="submit"]');
await check('signing in with the admin token opens the services view',
    async () => {
	await page.waitForSelector('[data-view="services"]');
	return true;
});
await check('the token is kept in sessionStorage, not in the URL or a cookie',
    async () => {
	const s = await page.evaluate(() => ({ href: location.href,
	    cookie: document.cookie,
	    stored: Object.values(sessionStorage) }));
	return s.stored.includes(adminToken) && !s.href.includes(adminToken) &&
	    s.cookie === '';
});
await page.evaluate(() => { window.nsregNoReload = 1; });

// ---- services and endpoints, live
let r = curl('PUT', '/v1/services/db', { vl3: { prefix: '10.60.0.0/29' } },
    'admin');
await check('a service published by curl appears without a reload',
    async () => {
	await page.waitForSelector('[data-view="services"] [data-name="db"]');
	return r.status === 200 || r.status === 201;
});
r = curl('PUT', '/v1/endpoints/db-1', { url: 'tcp://10.0.0.1:5002',
    network_service_names: ['db'],
    network_service_labels: { db: { app: 'pg' } },
    expiration_time: iso(12000) });
await check('an endpoint registered by curl appears in its service',
    async () => {
	await page.waitForSelector(
	    '[data-view="services"] [data-name="db"] [data-name="db-1"]');
	return r.status === 200 || r.status === 201;
});
await check('its labels, owner and a countdown are shown', async () => {
	const t = await text('[data-name="db"] [data-name="db-1"]');
	return t.includes('app=pg') && t.includes(
	    'spiffe://example.org/ns/default/sa/client') &&
	    /expires in \d+s/.test(t);
});
await shot('services');
await go('endpoints');
await check('the endpoints view lists it', async () => {
	await page.waitForSelector('[data-view="endpoints"] [data-name="db-1"]');
	return true;
});
await shot('endpoints');
await check('it fades out with reason "expired" when it expires',
    async () => {
	await page.waitForSelector(
	    '[data-view="endpoints"] [data-name="db-1"][data-removed="expired"]',
	    { timeout: 30000 });
	return (await text('[data-name="db-1"]')).includes('expired');
});
await sleep(1200);	// the fade's transition
await shot('endpoints-expired');
await check('and then leaves the list', async () => {
	await page.waitForFunction(() => !document.querySelector(
	    '[data-view="endpoints"] [data-name="db-1"]'), { timeout: 20000 });
	return true;
});
await check('the page was never reloaded', () =>
    page.evaluate(() => window.nsregNoReload === 1));

// ---- grants and the vL3 pool
curl('PUT', '/v1/endpoints/db-2', { url: 'tcp://10.0.0.2:5002',
    network_service_names: ['db'] });
const g = curl('POST', '/v1/grants', { service: 'db' });
await go('grants');
await check('a grant made by curl shows its principal, endpoint and address',
    async () => {
	if (g.status !== 201)
		throw new Error(`grant: ${g.status} ${g.text}`);
	const sel = `[data-view="grants"] [data-name="${g.body.id}"]`;
	await page.waitForSelector(sel);
	const t = await text(sel);
	return t.includes(g.body.address) && t.includes('db-2') &&
	    t.includes(g.body.principal);
});
await check('the vL3 pool bar counts 1 of 6 usable addresses', async () => {
	await page.waitForSelector('[data-view="grants"] .pool-count' +
	    '[data-leased="1"][data-usable="6"]');
	const p = await page.$eval('[data-view="grants"] progress',
	    (e) => [e.value, e.max]);
	return p[0] === 1 && p[1] === 6;
});
await shot('grants');

// ---- a denial and the rule that decided it
curl('PUT', '/v1/services/vault', {}, 'admin');
curl('PUT', '/v1/endpoints/vault-1', { url: 'tcp://10.0.0.3:5002',
    network_service_names: ['vault'] });
curl('PUT', '/v1/policies/no-vault', { effect: 'forbid',
    actions: ['connect'], services: ['vault'], condition: 'true',
    description: 'nobody connects to vault' }, 'admin');
const denied = curl('POST', '/v1/grants', { service: 'vault' });
await go('decisions');
await page.select('#d-decision', 'deny');
await check('the denial is listed with the rule that decided', async () => {
	if (denied.status !== 403)
		throw new Error(`expected 403, got ${denied.status}`);
	// One test of the list as it is at one moment: the unfiltered list
	// may still be shown until the server's filtered answer replaces it,
	// and the denial may come with the 5 s re-read after it is logged.
	try {
		await page.waitForFunction(() => {
			const els = [...document.querySelectorAll(
			    '[data-view="decisions"] [data-decision]')];
			return els.length > 0 &&
			    els.every((e) => e.dataset.decision === 'deny') &&
			    els.some((e) => e.querySelector(
			    'a[data-rule="no-vault"]'));
		}, { timeout: 30000 });
	} catch (e) {
		// Say what the list showed instead.
		const seen = await page.evaluate(() => JSON.stringify({
		    filter: document.getElementById('d-decision')?.value,
		    note: document.querySelector('[data-view="decisions"] ' +
		    'p[aria-live]')?.textContent,
		    items: [...document.querySelectorAll('[data-view=' +
		    '"decisions"] [data-decision]')].map((d) =>
		    d.textContent.slice(0, 80)) }));
		throw new Error(`${e.message}: ${seen}; queries: ` +
		    decisionQueries.map((q) => q.toString()).join(' | '));
	}
});
await check('the outcome filter is asked of the server', () => {
	const q = decisionQueries.at(-1);
	return q.get('decision') === 'deny' && q.has('since');
});
await shot('decisions');
// A range in the browser's local time, as a person would type it.
async function setRange(fromMs, untilMs) {
	await page.select('#d-since', 'range');
	await page.evaluate((a, b) => {
		const local = (ms) => {
			const d = new Date(ms);
			const p = (x) => String(x).padStart(2, '0');
			return `${d.getFullYear()}-${p(d.getMonth() + 1)}-` +
			    `${p(d.getDate())}T${p(d.getHours())}:` +
			    `${p(d.getMinutes())}:${p(d.getSeconds())}`;
		};
		for (const [id, ms] of [['d-from', a], ['d-until', b]]) {
			const e = document.getElementById(id);
			e.value = ms === null ? '' : local(ms);
			e.dispatchEvent(new Event('change'));
		}
	}, fromMs, untilMs);
}
await check('a time range in the future is asked of the server and ' +
    'matches nothing', async () => {
	const from = Date.now() + 86400000;
	await setRange(from, null);
	await page.waitForSelector('[data-view="decisions"] .empty');
	const q = decisionQueries.at(-1);
	return Math.abs(new Date(q.get('since')).getTime() - from) < 1000 &&
	    !q.has('until') && (await page.$('[data-view="decisions"] ' +
	    '[data-decision]')) === null;
});
await check('the last hour until now lists the denial again', async () => {
	await setRange(Date.now() - 3600000, Date.now() + 60000);
	await page.waitForSelector('[data-view="decisions"] [data-decision="deny"]' +
	    ' a[data-rule="no-vault"]');
	const q = decisionQueries.at(-1);
	return q.has('since') && q.has('until') && q.get('decision') === 'deny';
});
await check('the principal filter is asked of the server', async () => {
	await page.type('#d-principal', 'spiffe://example.org/nobody');
	await page.keyboard.press('Enter');
	await page.waitForSelector('[data-view="decisions"] .empty');
	const ok = decisionQueries.at(-1).get('principal') ===
	    'spiffe://example.org/nobody';
	await page.$eval('#d-principal', (e) => { e.value = ''; });
	await page.keyboard.press('Enter');
	await page.waitForSelector('[data-view="decisions"] [data-decision="deny"]' +
	    ' a[data-rule="no-vault"]');
	return ok;
});
await click(page, '[data-decision="deny"] a[data-rule="no-vault"]');
await check('its link opens the rule in the rules view', async () => {
	await page.waitForSelector(
	    '[data-view="rules"] [data-name="no-vault"].target');
	return (await text('[data-name="no-vault"]')).includes('forbid');
});
await check('the rules view shows each rule with its mode', async () => {
	const t = await text('[data-view="rules"] [data-name="same-trust-domain"]');
	return t.includes('enforce') && t.includes('permit');
});

// ---- the editor checks a condition as one types
await page.$eval('#r-condition', (e) => { e.value = ''; });
await page.type('#r-condition', 'principal.trust_domain == ');
await check('a broken condition shows the error and its position',
    async () => {
	await page.waitForSelector('#r-check[data-state="error"] .caret');
	const msg = await text('#r-check .check-error');
	return /1:\d+/.test(msg);
});
await shot('rules-error');
await page.type('#r-condition', '"example.org"');
await check('fixing it clears the error', async () => {
	await page.waitForSelector('#r-check[data-state="ok"]');
	return true;
});

// ---- what would happen
await page.$eval('#e-service', (e) => { e.value = ''; });
await page.type('#e-service', 'vault');
await click(page, 'form.evaluate button[type="submit"]');
await check('evaluating a request to vault answers deny by no-vault',
    async () => {
	await page.waitForSelector(
	    '.eval-result [data-decision="deny"] a[data-rule="no-vault"]');
	return true;
});
await page.$eval('#e-service', (e) => { e.value = 'db'; });
await click(page, 'form.evaluate button[type="submit"]');
await check('and a request to db answers allow', async () => {
	await page.waitForSelector('.eval-result [data-decision="allow"]');
	return true;
});
await shot('rules');

// ---- a failing federation partner stands out
curl('PUT', '/v1/trust-domains/partner.test', { federation: {
    bundle_endpoint_url: 'https://127.0.0.1:1/bundle', profile: 'https_web' } },
    'admin');
await go('trust-domains');
await page.waitForSelector('[data-view="trust-domains"] ' +
    '[data-name="partner.test"]');
await click(page, '[data-name="partner.test"] button');
await check('refreshing an unreachable bundle endpoint shows the error',
    async () => {
	await page.waitForSelector('[data-name="partner.test"]' +
	    '[data-health="failing"] .last-error');
	return (await text('[data-name="partner.test"] .last-error')).includes(
	    '127.0.0.1:1');
});
await shot('trust-domains');

// ---- a watch stream that drops resumes
await go('services');
await page.waitForSelector('[data-view="services"] [data-name="db-2"]');
await check('after a server restart the views reconnect and stay live',
    async () => {
	await page.evaluate(() => { window.nsregNoReload = 2; });
	await restart();
	curl('PUT', '/v1/endpoints/db-3', { url: 'tcp://10.0.0.4:5002',
	    network_service_names: ['db'] });
	await page.waitForSelector(
	    '[data-view="services"] [data-name="db"] [data-name="db-3"]',
	    { timeout: 30000 });
	await page.waitForSelector('.watch-state[data-state="live"]');
	return page.evaluate(() => window.nsregNoReload === 2);
});

// ---- status strip
await check('the status strip shows readiness and watchers', async () => {
	await page.waitForSelector('#status [data-ready="ready"]');
	await page.waitForFunction(() => /\d+ watchers/.test(
	    document.getElementById('status').textContent));
	return true;
});
await check('and the instance name', async () => {
	await page.waitForSelector('#status [data-instance="console-ui"]');
	return (await text('#status [data-instance]')).includes('console-ui');
});

// ---- the same console over HTTP/2 (listen h2)
await check('/ui/ over HTTP/2 (curl --http2) has the same headers', () => {
	const hd = execFileSync('curl', ['-sS', '--http2', '-D', '-', '-o',
	    '/dev/null', '--cacert', `${dev}/bundle.pem`, `${h2base}/ui/`],
	    { encoding: 'utf8' });
	const js = execFileSync('curl', ['-sS', '--http2', '-D', '-', '-o',
	    '/dev/null', '--cacert', `${dev}/bundle.pem`,
	    `${h2base}/ui/app.js`], { encoding: 'utf8' });
	if (!/^HTTP\/2 200/.test(hd) || !/^HTTP\/2 200/.test(js))
		throw new Error(`${hd}\n${js}`);
	return hd.includes(`content-security-policy: ${CSP}`) &&
	    /content-type: text\/html/.test(hd) &&
	    /content-type: text\/javascript/.test(js);
});
const p2 = await guard(await browser.newPage(), new URL(h2base).origin);
await check('Chromium runs the console over HTTP/2, live', async () => {
	await p2.goto(`${h2base}/ui/`, { waitUntil: 'networkidle0' });
	await p2.type('input[name="token"]', adminToken);
	await click(p2, 'form button[type="submit"]');
	await p2.waitForSelector('[data-view="services"] [data-name="db"]');
	curl('PUT', '/v1/endpoints/db-h2', { url: 'tcp://10.0.0.9:5002',
	    network_service_names: ['db'] });
	await p2.waitForSelector(
	    '[data-view="services"] [data-name="db"] [data-name="db-h2"]');
	const proto = await p2.evaluate(() => [
	    performance.getEntriesByType('navigation')[0].nextHopProtocol,
	    ...performance.getEntriesByType('resource').filter((e) =>
	    e.name.includes('/v1/')).map((e) => e.nextHopProtocol)]);
	if (proto.some((x) => x !== 'h2'))
		throw new Error(`protocols: ${proto.join(', ')}`);
	return proto.length > 1;
});
await p2.screenshot({ path: `${shots}/services-h2.png`, fullPage: true });
await p2.close();

// ---- accessibility and small screens
await check('every form control has a label', () => page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')].filter((e) =>
    !e.closest('[hidden]')).every((e) => e.labels && e.labels.length > 0)));
await check('from the skip link, Tab and Enter open a view', async () => {
	await page.focus('a.skip');
	await page.keyboard.press('Tab');
	const a = await page.evaluate(() =>
	    document.activeElement.getAttribute('href'));
	await page.keyboard.press('Tab');
	await page.keyboard.press('Enter');
	await page.waitForSelector('[data-view="endpoints"]');
	return a === '#/services';
});
await page.setViewport({ width: 360, height: 780 });
await go('services');
await page.waitForSelector('[data-view="services"] [data-name="db-2"]');
await check('at 360 px nothing is wider than the screen', () =>
    page.evaluate(() => document.documentElement.scrollWidth <= 360));
await shot('services-360');
await check('at 360 px every view fits the width', async () => {
	const wide = [];
	for (const v of ['endpoints', 'grants', 'decisions', 'rules',
	    'trust-domains']) {
		await go(v);
		await sleep(300);
		const w = await page.evaluate(() =>
		    document.documentElement.scrollWidth);
		if (w > 360)
			wide.push(`${v}: ${w}px`);
		await shot(`${v}-360`);
	}
	if (wide.length)
		throw new Error(wide.join(', '));
	return true;
});
await check('at 360 px Tab reaches every view link, visible and outlined',
    async () => {
	await page.focus('a.skip');
	const seen = [];
	for (let i = 0; i < 6; i++) {
		await page.keyboard.press('Tab');
		seen.push(await page.evaluate(() => {
			const e = document.activeElement;
			const r = e.getBoundingClientRect();
			return { href: e.getAttribute('href'),
			    inside: r.left >= 0 && r.right <= 360 && r.width > 0,
			    outline: getComputedStyle(e).outlineStyle };
		}));
	}
	const want = ['#/services', '#/endpoints', '#/grants', '#/decisions',
	    '#/rules', '#/trust-domains'];
	if (seen.some((s, i) => s.href !== want[i] || !s.inside ||
	    s.outline === 'none'))
		throw new Error(JSON.stringify(seen));
	await page.keyboard.press('Enter');
	await page.waitForSelector('[data-view="trust-domains"]');
	return true;
});
await go('services');
await page.emulateMediaFeatures([{ name: 'prefers-color-scheme',
    value: 'dark' }]);
await check('dark mode uses a dark background', () => page.evaluate(() => {
	const c = getComputedStyle(document.body).backgroundColor;
	const m = c.match(/\d+/g).map(Number);
	return m[0] + m[1] + m[2] < 150;
}));
await shot('services-360-dark');
await page.setViewport({ width: 1280, height: 900 });
await go('trust-domains');
await shot('trust-domains-dark');

// ---- sign-out, origin and CSP
await click(page, '#signout');
await check('signing out forgets the token', async () => {
	await page.waitForSelector('#signin:not([hidden]) input[name="token"]');
	return (await page.evaluate(() => sessionStorage.length)) === 0;
});

// ---- sign-in by the browser's client certificate
async function certPage(who) {
	const b = await launch(who);
	const p = await guard(await b.newPage());
	// Not networkidle: signed in at once, the views hold watch streams.
	await p.goto(`${base}/ui/`, { waitUntil: 'load' });
	return { b, p };
}
if (!process.env.NSREG_NSS) {
	skip('a browser presenting an admin\'s X.509-SVID needs no token',
	    'no certutil/pk12util (libnss3-tools)');
} else {
	const { b, p } = await certPage('ops');
	await check('a browser presenting an admin\'s X.509-SVID needs no token',
	    async () => {
		await p.waitForSelector('[data-view="services"] [data-name="db"]');
		const s = await p.evaluate(() => ({
		    signin: document.getElementById('signin').hidden,
		    who: document.getElementById('who').textContent,
		    stored: sessionStorage.length }));
		return s.signin && s.stored === 0 &&
		    s.who.includes('spiffe://example.org/ops');
	});
	await check('it sees every view an admin sees', async () => {
		await p.evaluate(() => { location.hash = '#/rules'; });
		await p.waitForSelector('[data-view="rules"] [data-name="no-vault"]');
		await p.evaluate(() => { location.hash = '#/decisions'; });
		await p.waitForSelector('[data-view="decisions"] ' +
		    '[data-decision="deny"]');
		await p.waitForFunction(() => /\d+ watchers/.test(
		    document.getElementById('status').textContent));
		return true;
	});
	await p.screenshot({ path: `${shots}/signed-in-by-certificate.png`,
	    fullPage: true });
	await check('"Use a token" leads to the token form', async () => {
		await click(p, '#signout');
		await p.waitForSelector('#signin:not([hidden]) input[name="token"]');
		return (await p.$eval('#signin-error', (e) => e.textContent)).
		    includes('spiffe://example.org/ops');
	});
	await b.close();

	const w = await certPage('client');
	await check('a workload\'s SVID opens the console with only what ' +
	    'the API lets it see', async () => {
		await w.p.waitForSelector('[data-view="services"]');
		const who = await w.p.$eval('#who', (e) => e.textContent);
		await w.p.evaluate(() => { location.hash = '#/rules'; });
		await w.p.waitForSelector('[data-view="rules"] ' +
		    '.watch-state[data-state="error"]');
		const st = await w.p.$eval('[data-view="rules"] .watch-state',
		    (e) => e.textContent);
		await w.p.waitForFunction(() => /metrics: .*admin/.test(
		    document.getElementById('status').textContent));
		const empty = await w.p.$eval('[data-view="rules"] .empty',
		    (e) => e.textContent);
		return who.includes('spiffe://example.org/ns/default/sa/client') &&
		    who.includes('not an admin') && /admin/.test(st) &&
		    empty.startsWith('Not shown: ');
	});
	await w.p.screenshot({ path: `${shots}/workload-certificate.png`,
	    fullPage: true });
	await w.b.close();
}

await check('no request went to another origin', () => {
	if (foreign.length)
		throw new Error(foreign.join('\n'));
	return true;
});
await check('no CSP violation or script error', () => {
	if (problems.length)
		throw new Error(problems.join('\n'));
	return true;
});

clearTimeout(watchdog);
await browser.close();
// The server restart() started exits 0 on a graceful stop: under the
// sanitizer build, a leak or undefined behaviour in nsregd fails here.
if (child) {
	const exited = new Promise((r) => child.once('exit',
	    (code, sig) => r({ code, sig })));
	child.kill('SIGTERM');
	const kill = setTimeout(() => child.kill('SIGKILL'), 30000);
	const { code, sig } = child.exitCode !== null ||
	    child.signalCode !== null ? { code: child.exitCode,
	    sig: child.signalCode } : await exited;
	clearTimeout(kill);
	await check('the restarted nsregd exits 0 on SIGTERM', () => {
		if (code === 0)
			return true;
		const log = readFileSync(process.env.NSREGD_LOG, 'utf8');
		throw new Error(`status ${code}, signal ${sig}; its log ends:\n` +
		    log.split('\n').slice(-60).join('\n'));
	});
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
