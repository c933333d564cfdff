// app.js - the nsreg operator console (DESIGN section 4 "Console").
//
// Plain ES module, no framework.  The admin token lives in sessionStorage
// and goes out as "Authorization: Bearer" only; a browser that presents
// an X.509-SVID (a TLS client certificate) is signed in by it instead,
// when /v1/whoami answers for it without a token.  Every view reads the
// REST API and follows its watch streams (fetch + ReadableStream over
// NDJSON: EventSource cannot send Authorization), reconnecting with
// since= after a drop.  Records are built with DOM calls, never
// innerHTML, so nothing a workload registers can become markup.
//
// Requests go with credentials "same-origin": there are no cookies, but
// "omit" would also keep the browser's client certificate off them.

const TOKEN_KEY = 'nsreg.admin-token';
const FADE_MS = 8000;		// a removed record stays this long
const VIEWS = ['services', 'endpoints', 'grants', 'decisions', 'rules',
    'trust-domains'];

// ---------------------------------------------------------------- helpers

// h(tag, {attr: value}, ...children), or h(tag, ...children).
function h(tag, attrs, ...kids) {
	const el = document.createElement(tag);
	if (attrs instanceof Node || Array.isArray(attrs) ||
	    (attrs !== null && typeof attrs !== 'object')) {
		kids.unshift(attrs);
		attrs = null;
	}
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'class')
			el.className = v;
		else if (k === 'text')
			el.textContent = v;
		else if (k.startsWith('on'))
			el.addEventListener(k.slice(2), v);
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	for (const kid of kids.flat(Infinity)) {
		if (kid === null || kid === undefined || kid === false)
			continue;
		el.append(kid instanceof Node ? kid : document.createTextNode(
		    String(kid)));
	}
	return el;
}

function token() {
	return sessionStorage.getItem(TOKEN_KEY);
}

// Who the console speaks as: null before sign-in, else { kind: 'token' }
// or { kind: 'x509', id, admin } for a browser's client certificate.
let session = null;

function authHeaders(h) {
	const t = token();
	if (t)
		h.Authorization = `Bearer ${t}`;
	return h;
}

class ApiError extends Error {
	constructor(status, body) {
		const e = (body && body.error) || {};
		super(e.message || `HTTP ${status}`);
		this.status = status;
		this.code = e.code || 'unknown';
		this.field = e.field;
		this.body = body;
	}
}

async function api(path, opts = {}) {
	const headers = authHeaders({ Accept: 'application/json' });
	if (opts.body !== undefined)
		headers['Content-Type'] = 'application/json';
	const r = await fetch(path, {
		method: opts.method || 'GET', headers, cache: 'no-store',
		credentials: 'same-origin', signal: opts.signal,
		body: opts.body === undefined ? undefined :
		    JSON.stringify(opts.body),
	});
	const type = r.headers.get('Content-Type') || '';
	const body = type.includes('json') ? await r.json().catch(() => null) :
	    await r.text();
	if (r.status === 401) {
		signOut(`The server no longer accepts the ${session &&
		    session.kind === 'x509' ? 'certificate' : 'token'}: ${
		    (body && body.error && body.error.message) ||
		    'sign in again'}.`);
		throw new ApiError(r.status, body);
	}
	if (!r.ok && !(opts.accept || []).includes(r.status))
		throw new ApiError(r.status, body);
	return opts.full ? { status: r.status, body } : body;
}

function fmtTime(s) {
	if (!s)
		return '—';
	const d = new Date(s);
	return isNaN(d) ? String(s) : d.toLocaleString();
}

function fmtLeft(ms) {
	if (ms <= 0)
		return 'expired';
	let s = Math.floor(ms / 1000);
	const d = Math.floor(s / 86400);
	s %= 86400;
	const hh = Math.floor(s / 3600);
	s %= 3600;
	const m = Math.floor(s / 60);
	s %= 60;
	if (d > 0)
		return `${d}d ${hh}h`;
	if (hh > 0)
		return `${hh}h ${m}m`;
	return m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

function ago(s) {
	if (!s)
		return 'never';
	const ms = Date.now() - new Date(s).getTime();
	return isNaN(ms) ? String(s) : `${fmtLeft(Math.max(ms, 1000))} ago`;
}

// An element counting down to iso; the ticker below refreshes it.
function countdown(iso) {
	const el = h('time', { class: 'countdown', datetime: iso,
	    'data-expires': iso, title: fmtTime(iso) });
	tickOne(el);
	return el;
}

function tickOne(el) {
	const left = new Date(el.dataset.expires).getTime() - Date.now();
	el.textContent = fmtLeft(left);
	el.classList.toggle('soon', left > 0 && left < 15000);
}

setInterval(() => {
	for (const el of document.querySelectorAll('[data-expires]'))
		tickOne(el);
}, 1000);

function labelChips(labels) {
	const ents = Object.entries(labels || {});
	if (ents.length === 0)
		return h('span', { class: 'muted', text: 'no labels' });
	return h('ul', { class: 'chips', 'aria-label': 'labels' },
	    ents.map(([k, v]) => h('li', { class: 'chip' }, `${k}=${v}`)));
}

function announce(msg) {
	const s = document.getElementById('live');
	if (s)
		s.textContent = msg;
}

// ------------------------------------------------------------------ watch

// Follow a list and its watch stream: onEvent({type, object, reason}) for
// each change, onReset() when the client must forget what it holds (410
// after a long drop).  Reconnects with since= the last revision seen.
class Watch {
	constructor(path, onEvent, onReset, onState) {
		this.path = path;
		this.onEvent = onEvent;
		this.onReset = onReset || (() => {});
		this.onState = onState || (() => {});
		this.since = null;
		this.stopped = false;
		this.delay = 500;
		this.ctl = null;
		this.run();
	}

	stop() {
		this.stopped = true;
		if (this.ctl)
			this.ctl.abort();
	}

	url() {
		const sep = this.path.includes('?') ? '&' : '?';
		let u = `${this.path}${sep}watch=true`;
		if (this.since !== null)
			u += `&since=${this.since}`;
		return u;
	}

	async run() {
		while (!this.stopped) {
			this.ctl = new AbortController();
			try {
				await this.once();
				this.delay = 500;
			} catch (e) {
				if (this.stopped)
					return;
				if (e instanceof ApiError && e.status === 410) {
					this.since = null;
					this.onReset();
					continue;
				}
				if (e instanceof ApiError && (e.status === 401 ||
				    e.status === 403)) {
					this.onState('error', e.message);
					return;
				}
			}
			if (this.stopped)
				return;
			this.onState('reconnecting');
			await new Promise((r) => setTimeout(r, this.delay));
			this.delay = Math.min(this.delay * 2, 10000);
		}
	}

	async once() {
		const r = await fetch(this.url(), {
			headers: authHeaders({ Accept: 'application/x-ndjson' }),
			cache: 'no-store', credentials: 'same-origin',
			signal: this.ctl.signal,
		});
		if (!r.ok) {
			const body = await r.json().catch(() => null);
			if (r.status === 401)
				signOut('The server no longer accepts the ' +
				    'credential: sign in again.');
			throw new ApiError(r.status, body);
		}
		this.onState('live');
		const reader = r.body.getReader();
		const dec = new TextDecoder();
		let buf = '';
		for (;;) {
			const { value, done } = await reader.read();
			if (done)
				break;
			buf += dec.decode(value, { stream: true });
			let nl;
			while ((nl = buf.indexOf('\n')) >= 0) {
				const line = buf.slice(0, nl).trim();
				buf = buf.slice(nl + 1);
				if (line)
					this.line(line);
			}
		}
	}

	line(line) {
		let ev;
		try {
			ev = JSON.parse(line);
		} catch {
			return;
		}
		if (typeof ev.revision === 'number')
			this.since = ev.revision;
		if (ev.type !== 'BOOKMARK' && ev.object)
			this.onEvent(ev);
	}
}

// A keyed live collection rendered into a container: each record one
// element with data-name; removed ones fade out with their reason.
class LiveList {
	constructor(container, render, opts = {}) {
		this.container = container;
		this.render = render;
		this.key = opts.key || ((o) => o.name);
		this.sort = opts.sort || ((a, b) => String(this.key(a)).
		    localeCompare(String(this.key(b))));
		this.empty = opts.empty || 'Nothing here yet.';
		this.onChange = opts.onChange || (() => {});
		this.items = new Map();
		this.els = new Map();
		this.showEmpty();
	}

	showEmpty() {
		if (this.items.size === 0 && !this.container.querySelector(
		    '[data-name]'))
			this.container.replaceChildren(h('p',
			    { class: 'muted empty', text: this.empty }));
	}

	clear() {
		this.items.clear();
		this.els.clear();
		this.container.replaceChildren();
		this.showEmpty();
		this.onChange();
	}

	event(ev) {
		const o = ev.object;
		const k = String(this.key(o));
		if (ev.type === 'DELETED') {
			this.items.delete(k);
			const el = this.els.get(k);
			this.els.delete(k);
			if (el) {
				const why = ev.reason || 'deleted';
				el.classList.add('gone');
				el.dataset.removed = why;
				el.setAttribute('aria-disabled', 'true');
				for (const x of el.querySelectorAll('.expiry'))
					x.textContent = why;
				el.prepend(h('p', { class: 'gone-reason',
				    text: `removed: ${why}` }));
				announce(`${k} removed (${why})`);
				setTimeout(() => {
					el.remove();
					this.showEmpty();
				}, FADE_MS);
			}
			this.onChange();
			return;
		}
		this.items.set(k, o);
		const el = this.render(o);
		el.dataset.name = k;
		const old = this.els.get(k);
		const stale = this.container.querySelector(
		    `[data-name="${CSS.escape(k)}"].gone`);
		if (stale)
			stale.remove();
		this.container.querySelector('.empty')?.remove();
		if (old) {
			old.replaceWith(el);
		} else {
			const after = [...this.items.values()].sort(this.sort).
			    map((x) => this.els.get(String(this.key(x)))).
			    filter(Boolean);
			const next = after.find((e) => this.sort(
			    this.items.get(e.dataset.name), o) > 0);
			if (next)
				next.before(el);
			else
				this.container.append(el);
		}
		this.els.set(k, el);
		this.onChange();
	}
}

function watchState(el) {
	return (state, msg) => {
		el.dataset.state = state;
		el.textContent = state === 'live' ? 'live' :
		    state === 'reconnecting' ? 'reconnecting…' :
		    `error: ${msg}`;
		// An empty list the API refused to fill is not "nothing".
		if (state === 'error')
			for (const e of el.closest('[data-view]')?.
			    querySelectorAll('.empty') || [])
				e.textContent = `Not shown: ${msg}`;
	};
}

function viewHeader(title, ...extra) {
	const st = h('span', { class: 'watch-state', 'data-state': 'connecting',
	    text: 'connecting…', title: 'watch stream' });
	return { el: h('div', { class: 'view-head' }, h('h2', { text: title }),
	    st, ...extra), state: watchState(st) };
}

// ------------------------------------------------------------------ views

function endpointCard(e, service) {
	const labels = service ? (e.network_service_labels || {})[service] :
	    null;
	return h('li', { class: 'record endpoint' },
	    h('div', { class: 'rec-head' },
		h('strong', { class: 'rec-name', text: e.name }),
		h('span', { class: 'expiry' }, 'expires in ',
		    countdown(e.expiration_time))),
	    h('dl', { class: 'kv' },
		h('dt', { text: 'URL' }), h('dd', h('code', { text: e.url })),
		service ? null : [h('dt', { text: 'Services' }),
		    h('dd', { text: (e.network_service_names || []).join(', ') ||
		    '—' })],
		h('dt', { text: 'Owner' }), h('dd', h('code', {
		    text: e.owner || '—' })),
		h('dt', { text: 'Labels' }), h('dd', service ?
		    labelChips(labels) : Object.keys(e.network_service_labels ||
		    {}).length ? Object.entries(e.network_service_labels).map(
		    ([s, l]) => h('div', {}, h('span', { class: 'muted',
		    text: `${s}: ` }), labelChips(l))) : labelChips({})),
		h('dt', { text: 'Registered' }), h('dd', {
		    text: fmtTime(e.initial_registration_time) })));
}

function viewServices(root) {
	const head = viewHeader('Services');
	const list = h('div', { class: 'cards', 'aria-label': 'services' });
	root.append(head.el, list);
	const byService = new Map();	// service -> LiveList of endpoints
	const endpoints = new Map();
	function epList(name) {
		return byService.get(name);
	}
	const services = new LiveList(list, (s) => {
		const ul = h('ul', { class: 'records nested',
		    'aria-label': `endpoints of ${s.name}` });
		const card = h('article', { class: 'card service' },
		    h('h3', { text: s.name }),
		    h('dl', { class: 'kv' },
			h('dt', { text: 'Payload' }), h('dd', {
			    text: s.payload || 'IP' }),
			h('dt', { text: 'Labels' }), h('dd', labelChips(s.labels)),
			s.vl3 ? [h('dt', { text: 'vL3' }), h('dd', h('code', {
			    text: `${s.vl3.prefix} /${s.vl3.client_prefix_len ||
			    ''}` }))] : null),
		    h('h4', { text: 'Endpoints' }), ul);
		const ll = new LiveList(ul, (e) => endpointCard(e, s.name),
		    { empty: 'No live endpoint.' });
		byService.set(s.name, ll);
		for (const e of endpoints.values())
			if ((e.network_service_names || []).includes(s.name))
				ll.event({ type: 'ADDED', object: e });
		return card;
	}, { empty: 'No service is published.' });
	const w1 = new Watch('/v1/services', (ev) => {
		if (ev.type === 'DELETED')
			byService.delete(ev.object.name);
		services.event(ev);
	}, () => services.clear(), head.state);
	const w2 = new Watch('/v1/endpoints', (ev) => {
		const e = ev.object;
		const prev = endpoints.get(e.name);
		if (ev.type === 'DELETED')
			endpoints.delete(e.name);
		else
			endpoints.set(e.name, e);
		const names = new Set([...(e.network_service_names || []),
		    ...((prev && prev.network_service_names) || [])]);
		for (const s of names) {
			const ll = epList(s);
			if (!ll)
				continue;
			const offers = (e.network_service_names || []).includes(s);
			ll.event(ev.type !== 'DELETED' && !offers ?
			    { type: 'DELETED', object: e, reason: 'withdrawn' } : ev);
		}
	}, () => {
		endpoints.clear();
		for (const ll of byService.values())
			ll.clear();
	});
	return () => { w1.stop(); w2.stop(); };
}

function viewEndpoints(root) {
	const filter = h('input', { id: 'ep-filter', type: 'search',
	    placeholder: 'name, URL, service or owner' });
	const head = viewHeader('Endpoints', h('div', { class: 'filter' },
	    h('label', { for: 'ep-filter', text: 'Filter' }), filter));
	const ul = h('ul', { class: 'records', 'aria-label': 'endpoints' });
	root.append(head.el, ul);
	const ll = new LiveList(ul, (e) => endpointCard(e, null),
	    { empty: 'No live endpoint.', onChange: apply });
	function apply() {
		const q = filter.value.trim().toLowerCase();
		for (const el of ul.querySelectorAll('[data-name]')) {
			const e = ll.items.get(el.dataset.name);
			el.hidden = q !== '' && e !== undefined && !JSON.stringify(
			    [e.name, e.url, e.owner, e.network_service_names]).
			    toLowerCase().includes(q);
		}
	}
	filter.addEventListener('input', apply);
	const w = new Watch('/v1/endpoints', (ev) => ll.event(ev),
	    () => ll.clear(), head.state);
	return () => w.stop();
}

// Usable addresses of a vL3 pool (as server/ipam.c counts them).
function poolSize(vl3) {
	const m = /^([^/]+)\/(\d+)$/.exec(vl3.prefix || '');
	if (!m)
		return null;
	const v6 = m[1].includes(':');
	const plen = Number(m[2]);
	const max = v6 ? 128 : 32;
	const clen = vl3.client_prefix_len || max;
	const bits = clen - plen;
	if (bits < 0)
		return null;
	let n = 2 ** bits;
	if (!v6 && plen < 31)
		n -= 2;
	else if (v6 && plen < 127)
		n -= 1;
	return n;
}

function viewGrants(root) {
	const head = viewHeader('Grants');
	const box = h('div', { class: 'cards', 'aria-label': 'grants by service' });
	root.append(head.el, box);
	const services = new Map();
	const grants = new Map();
	const sections = new Map();

	function section(name) {
		let s = sections.get(name);
		if (s)
			return s;
		const svc = services.get(name);
		const bar = h('div', { class: 'pool' });
		const ul = h('ul', { class: 'records nested',
		    'aria-label': `grants of ${name}` });
		const el = h('article', { class: 'card grants' },
		    h('h3', { text: name }), bar, ul);
		s = { el, bar, ul, list: new LiveList(ul, grantCard, {
		    key: (g) => g.id, empty: 'No live grant.',
		    sort: (a, b) => String(a.address || '').localeCompare(
		    String(b.address || ''), undefined, { numeric: true }),
		    onChange: () => pool(name) }) };
		sections.set(name, s);
		box.querySelector('.empty')?.remove();
		const after = [...box.children].find((c) =>
		    c.dataset.service > name);
		el.dataset.service = name;
		if (after)
			after.before(el);
		else
			box.append(el);
		if (svc)
			pool(name);
		return s;
	}

	function pool(name) {
		const s = sections.get(name);
		const svc = services.get(name);
		if (!s)
			return;
		if (!svc || !svc.vl3) {
			s.bar.replaceChildren(h('p', { class: 'muted',
			    text: 'No vL3 pool.' }));
			return;
		}
		const usable = poolSize(svc.vl3);
		const leased = [...s.list.items.values()].filter((g) =>
		    g.address).length;
		const id = `pool-${name}`;
		s.bar.replaceChildren(
		    h('label', { for: id }, `vL3 ${svc.vl3.prefix}: `,
			h('span', { class: 'pool-count', 'data-leased': leased,
			    'data-usable': usable, text: `${leased} / ${usable ??
			    '?'} addresses leased` })),
		    h('progress', { id, max: usable || 1, value: leased }));
	}

	function grantCard(g) {
		const ep = g.endpoint || {};
		return h('li', { class: 'record grant' },
		    h('div', { class: 'rec-head' },
			h('strong', { class: 'rec-name', text: g.address ||
			    '(no address)' }),
			h('span', { class: 'expiry' }, 'expires in ',
			    countdown(g.expires_at))),
		    h('dl', { class: 'kv' },
			h('dt', { text: 'Principal' }), h('dd', h('code', {
			    text: g.principal })),
			h('dt', { text: 'Endpoint' }), h('dd', {
			    text: `${ep.name || '—'} ${ep.url ? `(${ep.url})` :
			    ''}` }),
			h('dt', { text: 'Network' }), h('dd', {
			    text: g.network || '—' }),
			h('dt', { text: 'Grant' }), h('dd', h('code', {
			    text: g.id })),
			h('dt', { text: 'Issued' }), h('dd', {
			    text: fmtTime(g.issued_at) })));
	}

	const w1 = new Watch('/v1/services', (ev) => {
		const s = ev.object;
		if (ev.type === 'DELETED') {
			services.delete(s.name);
		} else {
			services.set(s.name, s);
			section(s.name);
		}
		pool(s.name);
	}, () => services.clear(), head.state);
	const w2 = new Watch('/v1/grants', (ev) => {
		const g = ev.object;
		grants.set(g.id, g);
		section(g.service).list.event(ev);
	}, () => {
		for (const s of sections.values())
			s.list.clear();
	});
	box.append(h('p', { class: 'muted empty', text: 'No service yet.' }));
	return () => { w1.stop(); w2.stop(); };
}

function decisionCard(d) {
	const dec = d.decision || {};
	const outcome = dec.decision === 'allow' ? 'allow' : 'deny';
	const ruleLink = (name) => h('a', { href: `#/rules/${encodeURIComponent(
	    name)}`, class: 'rule-link', 'data-rule': name, text: name });
	const reasons = dec.reasons || [];
	const errors = dec.errors || [];
	return h('li', { class: `record decision ${outcome}`,
	    'data-decision': outcome },
	    h('div', { class: 'rec-head' },
		h('span', { class: `badge ${outcome}`, text: outcome }),
		h('strong', { class: 'rec-name', text: `${d.action} ${d.service ||
		    ''}${d.endpoint ? ` / ${d.endpoint}` : ''}` }),
		h('time', { datetime: d.time, text: fmtTime(d.time) })),
	    h('dl', { class: 'kv' },
		h('dt', { text: 'Principal' }), h('dd', h('code', {
		    text: d.principal || '(admin token)' })),
		h('dt', { text: 'Rules' }), h('dd', reasons.length ?
		    reasons.map((r, i) => [i ? ', ' : '', r === 'admin' ?
		    r : ruleLink(r)]) : h('span', { class: 'muted',
		    text: outcome === 'deny' ? 'no rule permits it' : '—' })),
		errors.length ? [h('dt', { text: 'Errors' }), h('dd', h('ul',
		    { class: 'errors' }, errors.map((e) => h('li', {},
		    ruleLink(e.policy), ': ', h('span', { class: 'error',
		    text: e.message })))))] : null,
		d.count > 1 ? [h('dt', { text: 'Count' }), h('dd', {
		    text: d.count })] : null));
}

function viewDecisions(root) {
	const f = {
		principal: h('input', { id: 'd-principal', name: 'principal',
		    type: 'search', placeholder: 'spiffe://…' }),
		action: h('select', { id: 'd-action', name: 'action' },
		    ['', 'find', 'register', 'unregister', 'publish',
		    'connect'].map((a) => h('option', { value: a,
		    text: a || 'any' }))),
		decision: h('select', { id: 'd-decision', name: 'decision' },
		    ['', 'deny', 'allow'].map((a) => h('option', { value: a,
		    text: a || 'any' }))),
		since: h('select', { id: 'd-since', name: 'since' },
		    [['900', 'last 15 min'], ['3600', 'last hour'],
		    ['86400', 'last day'], ['', 'any time'],
		    ['range', 'from … until …']].map(([v, t]) =>
		    h('option', { value: v, text: t }))),
		from: h('input', { id: 'd-from', name: 'from',
		    type: 'datetime-local', step: 1 }),
		until: h('input', { id: 'd-until', name: 'until',
		    type: 'datetime-local', step: 1 }),
	};
	f.since.value = '3600';
	const range = [
	    h('div', { class: 'range', hidden: true }, h('label', {
		for: 'd-from', text: 'From' }), f.from),
	    h('div', { class: 'range', hidden: true }, h('label', {
		for: 'd-until', text: 'Until' }), f.until)];
	const live = h('input', { id: 'd-live', type: 'checkbox', checked: true });
	const form = h('form', { class: 'filters', role: 'search',
	    'aria-label': 'filter decisions' },
	    h('div', {}, h('label', { for: 'd-principal', text: 'Principal' }),
		f.principal),
	    h('div', {}, h('label', { for: 'd-action', text: 'Action' }),
		f.action),
	    h('div', {}, h('label', { for: 'd-decision', text: 'Outcome' }),
		f.decision),
	    h('div', {}, h('label', { for: 'd-since', text: 'Time' }), f.since),
	    range,
	    h('div', { class: 'inline' }, live, h('label', { for: 'd-live',
		text: 'refresh every 5 s' })),
	    h('button', { type: 'submit', text: 'Apply' }));
	const head = viewHeader('Decisions');
	head.state('live');
	const ul = h('ul', { class: 'records', 'aria-label': 'decisions' });
	const note = h('p', { class: 'muted', 'aria-live': 'polite' });
	root.append(head.el, form, note, ul);
	let seq = 0;
	// Every filter is the server's (GET /v1/decisions): the page holds
	// the newest 200 entries that match, not 200 filtered here.
	function query() {
		const q = new URLSearchParams({ limit: '200' });
		for (const k of ['principal', 'action', 'decision'])
			if (f[k].value.trim())
				q.set(k, f[k].value.trim());
		const rel = Number(f.since.value);
		if (f.since.value === 'range') {
			// datetime-local is the browser's local time.
			for (const k of ['from', 'until']) {
				const d = new Date(f[k].value);
				if (f[k].value && !isNaN(d))
					q.set(k === 'from' ? 'since' : 'until',
					    d.toISOString());
			}
		} else if (f.since.value && rel > 0) {
			q.set('since', new Date(Date.now() - rel * 1000).
			    toISOString());
		}
		return q;
	}
	async function load() {
		const my = ++seq;
		for (const el of range)
			el.hidden = f.since.value !== 'range';
		try {
			const r = await api(`/v1/decisions?${query()}`);
			if (my !== seq)
				return;
			const items = r.items || [];
			ul.replaceChildren(...items.map((d) => {
				const el = decisionCard(d);
				el.dataset.name = String(d.id);
				return el;
			}));
			if (items.length === 0)
				ul.append(h('p', { class: 'muted empty',
				    text: 'No decision matches.' }));
			note.textContent = `${items.length}${r.next_page_token ?
			    '+' : ''} decisions (newest first; the log has no ` +
			    `watch stream, so this list is re-read).`;
			note.classList.remove('error');
			head.state('live');
		} catch (e) {
			if (my !== seq)
				return;
			head.state('error', e.message);
			note.textContent = e.message;
			note.classList.add('error');
		}
	}
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		load();
	});
	for (const el of Object.values(f))
		el.addEventListener('change', load);
	load();
	const t = setInterval(() => {
		if (live.checked && document.visibilityState === 'visible')
			load();
	}, 5000);
	return () => clearInterval(t);
}

// Show where a "line:column" error points in the condition.
function errorPosition(msg, src) {
	const m = /(\d+):(\d+)/.exec(msg || '');
	if (!m)
		return null;
	const line = Number(m[1]);
	const col = Number(m[2]);
	const text = (src || '').split('\n')[line - 1];
	if (text === undefined)
		return null;
	return h('pre', { class: 'caret', 'aria-label':
	    `error at line ${line}, column ${col}` },
	    `${text}\n${' '.repeat(Math.max(col - 1, 0))}^`);
}

function viewRules(root, arg) {
	const head = viewHeader('Rules');
	const ul = h('ul', { class: 'records', 'aria-label': 'rules' });
	const editor = ruleEditor();
	const evalPanel = evaluatePanel();
	root.append(head.el, h('div', { class: 'split' },
	    h('section', { 'aria-label': 'rule set' }, ul),
	    h('div', {}, editor.el, evalPanel)));
	const ll = new LiveList(ul, (p) => h('li', {
	    class: `record rule ${p.effect} ${p.mode === 'audit' ? 'audit' :
	    ''}`, id: `rule-${p.name}` },
	    h('div', { class: 'rec-head' },
		h('strong', { class: 'rec-name', text: p.name }),
		h('span', { class: `badge ${p.effect}`, text: p.effect }),
		h('span', { class: `badge mode-${p.mode || 'enforce'}`,
		    text: p.mode || 'enforce' }),
		h('button', { type: 'button', class: 'secondary small',
		    text: 'Edit', 'aria-label': `edit ${p.name}`,
		    onclick: () => editor.load(p) })),
	    p.description ? h('p', { text: p.description }) : null,
	    h('dl', { class: 'kv' },
		h('dt', { text: 'Actions' }), h('dd', {
		    text: (p.actions || []).join(', ') || 'all' }),
		h('dt', { text: 'Services' }), h('dd', {
		    text: (p.services || []).join(', ') || 'all' })),
	    h('pre', { class: 'condition' }, h('code', {
		text: p.condition || 'true' }))),
	    { empty: 'No rule: everything but admin is denied.',
	    onChange: focusArg });
	function focusArg() {
		if (!arg)
			return;
		const el = ul.querySelector(`[data-name="${CSS.escape(arg)}"]`);
		if (!el)
			return;
		el.classList.add('target');
		el.scrollIntoView({ block: 'center' });
		arg = null;
	}
	const w = new Watch('/v1/policies', (ev) => ll.event(ev),
	    () => ll.clear(), head.state);
	return () => w.stop();
}

function ruleEditor() {
	const f = {
		name: h('input', { id: 'r-name', name: 'name', required: true,
		    pattern: '[a-z0-9]([a-z0-9.-]*[a-z0-9])?',
		    autocomplete: 'off' }),
		effect: h('select', { id: 'r-effect', name: 'effect' },
		    h('option', { value: 'permit', text: 'permit' }),
		    h('option', { value: 'forbid', text: 'forbid' })),
		mode: h('select', { id: 'r-mode', name: 'mode' },
		    h('option', { value: 'enforce', text: 'enforce' }),
		    h('option', { value: 'audit', text: 'audit' })),
		actions: h('input', { id: 'r-actions', name: 'actions',
		    value: 'connect', required: true,
		    placeholder: 'connect, find, register, unregister, publish' }),
		services: h('input', { id: 'r-services', name: 'services',
		    placeholder: 'db, web (empty: all)' }),
		condition: h('textarea', { id: 'r-condition', name: 'condition',
		    rows: 5, spellcheck: 'false',
		    'aria-describedby': 'r-check' }),
		description: h('input', { id: 'r-description',
		    name: 'description' }),
	};
	f.condition.value = 'principal.trust_domain == "example.org"';
	const check = h('div', { id: 'r-check', class: 'check',
	    role: 'status', 'aria-live': 'polite' });
	const saved = h('p', { class: 'saved', role: 'status' });
	const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
	function rule() {
		const r = { effect: f.effect.value, mode: f.mode.value,
		    condition: f.condition.value };
		if (f.name.value.trim())
			r.name = f.name.value.trim();
		if (list(f.actions.value).length)
			r.actions = list(f.actions.value);
		if (list(f.services.value).length)
			r.services = list(f.services.value);
		if (f.description.value.trim())
			r.description = f.description.value.trim();
		return r;
	}
	let timer = null;
	let seq = 0;
	async function runCheck() {
		const my = ++seq;
		const r = rule();
		check.dataset.state = 'checking';
		check.replaceChildren('checking…');
		try {
			const res = await api('/v1/policies/check', {
			    method: 'POST', body: r, accept: [400],
			    full: true });
			if (my !== seq)
				return;
			if (res.status === 200) {
				check.dataset.state = 'ok';
				check.replaceChildren(h('span', { class: 'ok',
				    text: '✓ the rule checks' }));
			} else {
				const e = (res.body && res.body.error) || {};
				check.dataset.state = 'error';
				const at = (e.field || '').startsWith(
				    'condition') ? errorPosition(e.message,
				    f.condition.value) : null;
				check.replaceChildren(h('span', {
				    class: 'error check-error', text: e.message ||
				    'invalid' }), ...(at ? [at] : []));
			}
		} catch (e) {
			check.dataset.state = 'error';
			check.replaceChildren(h('span', { class: 'error',
			    text: e.message }));
		}
	}
	function schedule() {
		clearTimeout(timer);
		timer = setTimeout(runCheck, 300);
	}
	for (const el of Object.values(f))
		el.addEventListener('input', schedule);
	const form = h('form', { class: 'editor', 'aria-labelledby': 'r-title' },
	    h('h3', { id: 'r-title', text: 'Rule editor' }),
	    h('div', { class: 'grid2' },
		h('div', {}, h('label', { for: 'r-name', text: 'Name' }), f.name),
		h('div', {}, h('label', { for: 'r-effect', text: 'Effect' }),
		    f.effect),
		h('div', {}, h('label', { for: 'r-mode', text: 'Mode' }), f.mode),
		h('div', {}, h('label', { for: 'r-actions', text: 'Actions' }),
		    f.actions),
		h('div', {}, h('label', { for: 'r-services', text: 'Services' }),
		    f.services),
		h('div', {}, h('label', { for: 'r-description',
		    text: 'Description' }), f.description)),
	    h('label', { for: 'r-condition', text: 'Condition (CEL)' }),
	    f.condition, check,
	    h('div', { class: 'buttons' },
		h('button', { type: 'submit', text: 'Save rule' }),
		h('button', { type: 'button', class: 'danger', text: 'Delete',
		    onclick: async () => {
			const n = f.name.value.trim();
			if (!n || !confirm(`Delete rule ${n}?`))
				return;
			try {
				await api(`/v1/policies/${encodeURIComponent(n)}`,
				    { method: 'DELETE' });
				saved.textContent = `Deleted ${n}.`;
			} catch (e) {
				saved.textContent = e.message;
			}
		    } })),
	    saved);
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		const r = rule();
		if (!r.name) {
			saved.textContent = 'A rule needs a name.';
			return;
		}
		try {
			await api(`/v1/policies/${encodeURIComponent(r.name)}`,
			    { method: 'PUT', body: r });
			saved.textContent = `Saved ${r.name}.`;
		} catch (err) {
			saved.textContent = err.message;
		}
	});
	runCheck();
	return {
		el: form,
		load(p) {
			f.name.value = p.name;
			f.effect.value = p.effect || 'permit';
			f.mode.value = p.mode || 'enforce';
			f.actions.value = (p.actions || []).join(', ');
			f.services.value = (p.services || []).join(', ');
			f.condition.value = p.condition || '';
			f.description.value = p.description || '';
			saved.textContent = '';
			f.condition.focus();
			runCheck();
		},
	};
}

function evaluatePanel() {
	const f = {
		principal: h('input', { id: 'e-principal', name: 'principal',
		    value: 'spiffe://example.org/ns/default/sa/client' }),
		action: h('select', { id: 'e-action', name: 'action' },
		    ['connect', 'find', 'register', 'unregister', 'publish'].map(
		    (a) => h('option', { value: a, text: a }))),
		service: h('input', { id: 'e-service', name: 'service' }),
		endpoint: h('input', { id: 'e-endpoint', name: 'endpoint' }),
		labels: h('input', { id: 'e-labels', name: 'labels',
		    placeholder: 'app=pg, tier=db' }),
		claims: h('input', { id: 'e-claims', name: 'claims',
		    placeholder: '{"groups":["dba"]}' }),
	};
	const out = h('div', { class: 'eval-result', role: 'status',
	    'aria-live': 'polite' });
	const form = h('form', { class: 'evaluate',
	    'aria-labelledby': 'e-title' },
	    h('h3', { id: 'e-title', text: 'What would happen?' }),
	    h('div', { class: 'grid2' },
		...Object.entries({ principal: 'Principal', action: 'Action',
		    service: 'Service', endpoint: 'Endpoint',
		    labels: 'Labels', claims: 'Claims (JSON)' }).map(
		    ([k, t]) => h('div', {}, h('label', { for: `e-${k}`,
		    text: t }), f[k]))),
	    h('button', { type: 'submit', text: 'Evaluate' }), out);
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		const body = { principal: f.principal.value.trim(),
		    action: f.action.value };
		if (f.service.value.trim())
			body.service = f.service.value.trim();
		if (f.endpoint.value.trim())
			body.endpoint = f.endpoint.value.trim();
		const labels = {};
		for (const kv of f.labels.value.split(',')) {
			const i = kv.indexOf('=');
			if (i > 0)
				labels[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
		}
		body.labels = labels;
		try {
			if (f.claims.value.trim())
				body.claims = JSON.parse(f.claims.value);
			const d = await api('/v1/decisions/evaluate',
			    { method: 'POST', body });
			const card = decisionCard({ action: body.action,
			    service: body.service, endpoint: body.endpoint,
			    principal: body.principal, decision: d,
			    time: new Date().toISOString() });
			card.dataset.name = 'evaluation';
			const audit = (d.audit || []).map((a) => h('li', {},
			    `${a.policy}: ${a.effect} ${a.matched ? 'matched' :
			    'did not match'}`));
			out.replaceChildren(h('ul', { class: 'records' }, card),
			    audit.length ? h('details', {}, h('summary', {
			    text: 'audit' }), h('ul', {}, audit)) : null);
		} catch (err) {
			out.replaceChildren(h('p', { class: 'error',
			    text: err.message }));
		}
	});
	return form;
}

function viewTrustDomains(root) {
	const head = viewHeader('Trust domains');
	const ul = h('ul', { class: 'records', 'aria-label': 'trust domains' });
	root.append(head.el, ul);
	const ll = new LiveList(ul, (t) => {
		const fed = t.federation || {};
		const keys = (t.bundle && t.bundle.keys) || [];
		const refreshedMs = t.refreshed_at ?
		    Date.now() - new Date(t.refreshed_at).getTime() : Infinity;
		const hint = ((t.bundle && t.bundle.spiffe_refresh_hint) ||
		    300) * 1000;
		const stale = fed.bundle_endpoint_url && refreshedMs > 2 * hint;
		const failing = Boolean(t.last_error);
		const msg = h('p', { class: 'saved', role: 'status' });
		const el = h('li', { class: `record td ${failing ? 'failing' :
		    ''} ${stale ? 'stale' : ''}`,
		    'data-health': failing ? 'failing' : stale ? 'stale' : 'ok' },
		    h('div', { class: 'rec-head' },
			h('strong', { class: 'rec-name', text: t.name }),
			failing ? h('span', { class: 'badge deny',
			    text: 'failing' }) : null,
			stale ? h('span', { class: 'badge warn',
			    text: 'stale' }) : null,
			fed.bundle_endpoint_url ? h('button', { type: 'button',
			    class: 'secondary small', text: 'Refresh now',
			    'aria-label': `refresh ${t.name}`,
			    onclick: async () => {
				msg.textContent = 'refreshing…';
				try {
					await api(`/v1/trust-domains/${
					    encodeURIComponent(t.name)}/refresh`,
					    { method: 'POST' });
					msg.textContent = 'refreshed';
				} catch (e) {
					msg.textContent = `refresh failed: ${
					    e.message}`;
				}
			    } }) : null),
		    failing ? h('p', { class: 'error last-error' },
			'last error: ', t.last_error) : null,
		    h('dl', { class: 'kv' },
			h('dt', { text: 'Profile' }), h('dd', {
			    text: fed.profile || (fed.bundle_endpoint_url ?
			    'https_web' : 'static bundle') }),
			fed.bundle_endpoint_url ? [h('dt', { text: 'Bundle URL' }),
			    h('dd', h('code', { text: fed.bundle_endpoint_url }))] :
			    null,
			fed.endpoint_spiffe_id ? [h('dt', { text: 'Endpoint ID' }),
			    h('dd', h('code', { text: fed.endpoint_spiffe_id }))] :
			    null,
			t.registry_url ? [h('dt', { text: 'Registry' }),
			    h('dd', h('code', { text: t.registry_url }))] : null,
			h('dt', { text: 'Sequence' }), h('dd', {
			    text: t.sequence ?? '—' }),
			h('dt', { text: 'Refreshed' }), h('dd', {
			    text: t.refreshed_at ? `${fmtTime(t.refreshed_at)} (${
			    ago(t.refreshed_at)})` : 'never' }),
			h('dt', { text: 'Keys' }), h('dd', keys.length ? h('ul', {
			    class: 'keys' }, keys.map((k) => h('li', {},
			    h('code', { text: k.kid || '(no kid)' }), ` ${k.use ||
			    ''} ${k.kty || ''}${k.crv ? ` ${k.crv}` : ''}`))) :
			    h('span', { class: 'muted', text: 'none' })),
			h('dt', { text: 'Origin' }), h('dd', {
			    text: t.accept_origin ? 'may state origin' : 'no' })),
		    msg);
		return el;
	}, { empty: 'No federated trust domain.' });
	const w = new Watch('/v1/trust-domains', (ev) => ll.event(ev),
	    () => ll.clear(), head.state);
	return () => w.stop();
}

const VIEW_FNS = {
	services: viewServices,
	endpoints: viewEndpoints,
	grants: viewGrants,
	decisions: viewDecisions,
	rules: viewRules,
	'trust-domains': viewTrustDomains,
};

// ----------------------------------------------------------- status strip

let statusTimer = null;
let lastMetrics = null;
let instance = null;

function metricSum(text, name) {
	let sum = 0;
	let seen = false;
	for (const line of text.split('\n')) {
		if (!line.startsWith(name))
			continue;
		const rest = line.slice(name.length);
		if (rest[0] !== ' ' && rest[0] !== '{')
			continue;
		const v = Number(line.slice(line.lastIndexOf(' ') + 1));
		if (!isNaN(v)) {
			sum += v;
			seen = true;
		}
	}
	return seen ? sum : null;
}

async function status() {
	const el = document.getElementById('status');
	const parts = [];
	try {
		const r = await fetch('/readyz', { cache: 'no-store',
		    credentials: 'same-origin' });
		const body = await r.json().catch(() => ({}));
		parts.push(h('span', { class: `pill ${r.ok ? 'ok' : 'bad'}`,
		    'data-ready': r.ok ? 'ready' : 'not-ready',
		    title: r.ok ? null : (body.error && body.error.message),
		    text: r.ok ? 'ready' : 'not ready' }));
		// The instance-name: which server of a cluster answers.
		if (body.instance)
			instance = body.instance;
	} catch {
		parts.push(h('span', { class: 'pill bad', text: 'unreachable' }));
	}
	try {
		const text = await api('/metrics');
		const now = Date.now();
		const m = {
			t: now,
			req: metricSum(text, 'nsreg_http_requests_total'),
			dec: metricSum(text, 'nsreg_decisions_total'),
		};
		const watchers = metricSum(text, 'nsreg_watchers');
		const eps = metricSum(text, 'nsreg_endpoints');
		const grants = metricSum(text, 'nsreg_grants');
		// Counters start again at 0 when the server restarts.
		const rate = (k) => lastMetrics && m[k] !== null &&
		    lastMetrics[k] !== null && m[k] >= lastMetrics[k] ?
		    ((m[k] - lastMetrics[k]) / ((now - lastMetrics.t) /
		    1000)).toFixed(1) : '…';
		parts.push(h('span', { class: 'pill' }, `${rate('req')} req/s`),
		    h('span', { class: 'pill' }, `${rate('dec')} decisions/s`),
		    h('span', { class: 'pill' }, `${watchers ?? '?'} watchers`),
		    h('span', { class: 'pill' }, `${eps ?? '?'} endpoints`),
		    h('span', { class: 'pill' }, `${grants ?? '?'} grants`));
		lastMetrics = m;
	} catch (e) {
		parts.push(h('span', { class: 'pill bad',
		    text: `metrics: ${e.message}` }));
	}
	if (instance)
		parts.unshift(h('span', { class: 'pill instance',
		    'data-instance': instance, title: 'instance-name' },
		    h('span', { class: 'visually-hidden', text: 'instance ' }),
		    instance));
	el.replaceChildren(...parts, h('span', { id: 'live',
	    class: 'visually-hidden' }));
}

// ----------------------------------------------------------------- routing

let cleanup = null;

function route() {
	if (!session) {
		showSignIn();
		return;
	}
	const m = /^#\/([a-z-]+)(?:\/(.*))?$/.exec(location.hash);
	const name = m && VIEWS.includes(m[1]) ? m[1] : null;
	if (!name) {
		location.replace('#/services');
		return;
	}
	if (cleanup)
		cleanup();
	const view = document.getElementById('view');
	const root = h('section', { 'data-view': name, class: 'view',
	    'aria-label': name });
	view.replaceChildren(root);
	for (const a of document.querySelectorAll('#nav a'))
		if (a.getAttribute('href') === `#/${name}`)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	cleanup = VIEW_FNS[name](root, m[2] ? decodeURIComponent(m[2]) : null);
	document.title = `${name} · nsreg console`;
	document.getElementById('main').focus({ preventScroll: true });
}

function showSignIn(msg) {
	if (cleanup) {
		cleanup();
		cleanup = null;
	}
	clearInterval(statusTimer);
	document.getElementById('view').replaceChildren();
	document.getElementById('signin').hidden = false;
	document.getElementById('nav').hidden = true;
	document.getElementById('signout').hidden = true;
	document.getElementById('who').hidden = true;
	document.getElementById('status').hidden = true;
	document.getElementById('signin-error').textContent = msg || '';
	document.getElementById('token').focus();
}

function signedIn() {
	const who = document.getElementById('who');
	const out = document.getElementById('signout');
	document.getElementById('signin').hidden = true;
	document.getElementById('nav').hidden = false;
	if (session.kind === 'x509') {
		// Nothing to forget: the browser presents the certificate.
		who.dataset.auth = 'x509';
		who.replaceChildren(h('span', { class: 'visually-hidden',
		    text: 'Signed in as ' }), h('code', { text: session.id }),
		    session.admin ? ' (certificate)' : ' (certificate, not an ' +
		    'admin: views show what the API lets it see)');
		out.textContent = 'Use a token';
	} else {
		who.dataset.auth = 'token';
		who.textContent = 'admin token';
		out.textContent = 'Sign out';
	}
	who.hidden = false;
	out.hidden = false;
	document.getElementById('status').hidden = false;
	status();
	clearInterval(statusTimer);
	statusTimer = setInterval(status, 5000);
	route();
}

function signOut(msg) {
	sessionStorage.removeItem(TOKEN_KEY);
	session = null;
	showSignIn(msg);
}

// The principal of the browser's client certificate, when it presents
// one the server accepts and no token is given; else null.  A refused
// certificate is said on the sign-in form.
async function certificateSession() {
	try {
		const r = await fetch('/v1/whoami', { cache: 'no-store',
		    credentials: 'same-origin' });
		const body = await r.json().catch(() => ({}));
		if (r.status === 401)
			return { refused: (body.error && body.error.message) ||
			    'refused' };
		if (r.ok && body.auth === 'x509' && body.id)
			return { kind: 'x509', id: body.id,
			    admin: body.admin === true };
	} catch {
		// unreachable: the form says so on submit
	}
	return null;
}

document.getElementById('signin-form').addEventListener('submit',
    async (e) => {
	e.preventDefault();
	const input = document.getElementById('token');
	const err = document.getElementById('signin-error');
	const t = input.value.trim();
	err.textContent = '';
	try {
		const r = await fetch('/v1/whoami', { cache: 'no-store',
		    credentials: 'same-origin',
		    headers: { Authorization: `Bearer ${t}` } });
		const body = await r.json().catch(() => ({}));
		if (!r.ok) {
			err.textContent = (body.error && body.error.message) ||
			    `HTTP ${r.status}`;
			return;
		}
		if (!body.admin && !(body.roles || []).includes('admin')) {
			err.textContent = 'This credential is not an admin.';
			return;
		}
	} catch (ex) {
		err.textContent = ex.message;
		return;
	}
	sessionStorage.setItem(TOKEN_KEY, t);
	input.value = '';
	session = { kind: 'token' };
	signedIn();
});

document.getElementById('signout').addEventListener('click', () => {
	if (session && session.kind === 'x509')
		signOut(`This browser presents ${session.id}; an admin token ` +
		    'given here speaks instead.');
	else
		signOut('Signed out.');
});
window.addEventListener('hashchange', () => {
	if (session)
		route();
});

if (token()) {
	session = { kind: 'token' };
	signedIn();
} else {
	const s = await certificateSession();
	if (s && !s.refused) {
		session = s;
		signedIn();
	} else {
		showSignIn(s ? `The certificate this browser presents is ` +
		    `refused: ${s.refused}` : '');
	}
}
