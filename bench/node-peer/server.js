'use strict';
/**
 * The Node.js peer of the load benchmark (bench/load.sh): the yardstick crmgate's throughput is
 * judged against.
 *
 * The open-source unified CRM APIs (Supaglue, Panora, Revert, Nango's templates) are Node
 * services that fetch a vendor page, `JSON.parse` it, map each record with a hand-written
 * JavaScript function and `JSON.stringify` the unified page. This server does exactly that and
 * nothing more, for the same 100-deal HubSpot page crmgate translates in the benchmark:
 * `GET /crm/opportunities?limit=100` fetches `/crm/objects/2026-09/deals` from the benchmark's
 * nginx over a keep-alive agent, maps every deal to the unified Opportunity fields crmgate writes
 * (mappings/hubspot/opportunities.yaml), and answers Apideck's list envelope. It is a generous
 * peer: no authentication, no tenant or connection lookup, no rate budget, no custom-field naming
 * (the benchmark account has no custom deal properties), no field selection — the parse, map and
 * write are the work being compared, and Node gets the rest for free.
 *
 * Issue #14's target: crmgate's throughput at saturation >= 3x this peer running two workers
 * (one per core of the benchmark machine), beside >= 0.45x nginx proxy_pass.
 *
 * Plain Node (18 or later: Debian's nodejs will do), no dependencies. Environment:
 *   PORT          port to listen on, on 127.0.0.1 (default 18104)
 *   UPSTREAM_URL  the "vendor", HubSpot's base URL (default http://127.0.0.1:18101)
 *   WORKERS       1: one process; N > 1: node:cluster with N workers sharing the port
 *   MAX_SOCKETS   keep-alive sockets per process to the upstream (default 256, nginx's keepalive)
 */

const cluster = require('node:cluster');
const http = require('node:http');

const PORT = Number(process.env.PORT || 18104);
const UPSTREAM_URL = (process.env.UPSTREAM_URL || 'http://127.0.0.1:18101').replace(/\/+$/, '');
const WORKERS = Math.max(1, Number(process.env.WORKERS || 1));
const MAX_SOCKETS = Math.max(1, Number(process.env.MAX_SOCKETS || 256));

// The properties crmgate asks HubSpot for, so both send much the same request (nginx ignores the
// query), plus hs_is_closed, which the Supaglue-style status below also reads.
const PROPERTIES = [
  'dealname', 'description', 'dealtype', 'amount', 'deal_currency_code',
  'hs_deal_stage_probability', 'hs_projected_amount', 'closedate', 'closed_lost_reason',
  'closed_won_reason', 'pipeline', 'dealstage', 'hs_analytics_source', 'hubspot_owner_id',
  'hs_priority', 'hs_is_closed', 'hs_is_closed_won', 'hs_is_closed_lost', 'hs_tag_ids',
  'num_notes', 'hs_v2_date_entered_current_stage', 'notes_last_updated', 'notes_last_contacted',
  'hs_updated_by_user_id', 'hs_created_by_user_id', 'hs_lastmodifieddate', 'createdate',
].join(',');

// --- the mapper, in the manner of the Node unified APIs' `mappers.ts` -------------------------

// HubSpot sends every property as a string; an empty one means unset.
const text = (v) => (v === undefined || v === null || v === '' ? null : v);
const number = (v) => {
  const s = text(v);
  if (s === null) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};
const timestamp = (v) => {
  const s = text(v);
  if (s === null) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
};
const utcDate = (v) => {
  const t = timestamp(v);
  return t === null ? null : t.slice(0, 10);
};

const PRIORITY = { low: 'Low', medium: 'Medium', high: 'High' };

function fromHubSpotDealToOpportunity({ id, properties = {}, createdAt, updatedAt, archived, associations }) {
  let status = 'Open';
  if (properties.hs_is_closed_won === 'true') {
    status = 'Won';
  } else if (properties.hs_is_closed_lost === 'true' || properties.hs_is_closed === 'true') {
    status = 'Lost';
  }

  const contacts = associations?.contacts?.results ?? [];
  const companies = associations?.companies?.results ?? [];
  // The primary company; the unlabelled association when no primary is set.
  const company = companies.find((c) => c.type === 'deal_to_company') ?? companies[0];
  const probability = number(properties.hs_deal_stage_probability);
  const tags = text(properties.hs_tag_ids);

  return {
    id,
    title: text(properties.dealname),
    description: text(properties.description),
    type: text(properties.dealtype),
    monetary_amount: number(properties.amount),
    currency: text(properties.deal_currency_code),
    // HubSpot keeps 0-1; the unified model has a percentage.
    win_probability: probability === null ? null : Math.round(probability * 10000) / 100,
    expected_revenue: number(properties.hs_projected_amount),
    close_date: utcDate(properties.closedate),
    loss_reason: text(properties.closed_lost_reason),
    won_reason: text(properties.closed_won_reason),
    pipeline_id: text(properties.pipeline),
    pipeline_stage_id: text(properties.dealstage),
    lead_source: text(properties.hs_analytics_source),
    primary_contact_id: contacts.length ? contacts[0].id : null,
    contact_id: contacts.length ? contacts[0].id : null,
    contact_ids: contacts.length ? contacts.map((c) => c.id) : null,
    company_id: company ? company.id : null,
    owner_id: text(properties.hubspot_owner_id),
    priority: PRIORITY[properties.hs_priority] ?? null,
    status,
    // Option ids: naming them would need the property catalog, which this peer does not read.
    tags: tags === null ? [] : tags.split(';'),
    custom_fields: [],
    stage_last_changed_at: timestamp(properties.hs_v2_date_entered_current_stage),
    last_activity_at: timestamp(properties.notes_last_updated),
    interaction_count: number(properties.num_notes),
    date_stage_changed: timestamp(properties.hs_v2_date_entered_current_stage),
    date_last_contacted: timestamp(properties.notes_last_contacted),
    created_by: text(properties.hs_created_by_user_id),
    updated_by: text(properties.hs_updated_by_user_id),
    deleted: !!archived,
    updated_at: timestamp(updatedAt ?? properties.hs_lastmodifieddate),
    created_at: timestamp(createdAt ?? properties.createdate),
  };
}

// --- the HTTP side -----------------------------------------------------------------------------

// One pool of keep-alive connections per process, as an HTTP client library keeps by default.
const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });

function getJson(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`upstream answered ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

// The unified cursor wraps HubSpot's `after` (base64 JSON, as Supaglue's cursors do).
const encodeCursor = (after) => Buffer.from(JSON.stringify({ after })).toString('base64url');
const decodeCursor = (cursor) => {
  try {
    const { after } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return typeof after === 'string' ? after : null;
  } catch {
    return null;
  }
};

function send(res, statusCode, body) {
  const json = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

function sendError(res, statusCode, error, message) {
  send(res, statusCode, { status_code: statusCode, error, type_name: error.replace(/\s+/g, ''), message });
}

async function listOpportunities(req, res, url) {
  const limit = Math.min(200, Math.max(1, Number(url.searchParams.get('limit') || 20) || 20));
  const cursor = url.searchParams.get('cursor');
  const after = cursor ? decodeCursor(cursor) : null;
  if (cursor && after === null) {
    sendError(res, 400, 'Bad Request', 'InvalidCursorError');
    return;
  }

  const upstream = new URL(`${UPSTREAM_URL}/crm/objects/2026-09/deals`);
  upstream.searchParams.set('limit', String(limit));
  upstream.searchParams.set('associations', 'contacts,companies');
  upstream.searchParams.set('properties', PROPERTIES);
  if (after) upstream.searchParams.set('after', after);

  let page;
  try {
    page = await getJson(upstream);
  } catch (err) {
    sendError(res, 502, 'Bad Gateway', `HubSpot: ${err.message}`);
    return;
  }

  const data = (page.results ?? []).map(fromHubSpotDealToOpportunity);
  const nextAfter = page.paging?.next?.after;
  const next = nextAfter ? encodeCursor(String(nextAfter)) : null;
  const link = (c) => {
    const u = new URL(url);
    if (c) u.searchParams.set('cursor', c);
    else u.searchParams.delete('cursor');
    return u.href;
  };
  send(res, 200, {
    status_code: 200,
    status: 'OK',
    service: 'hubspot',
    resource: 'opportunities',
    operation: 'all',
    data,
    meta: { items_on_page: data.length, cursors: { previous: null, current: cursor, next } },
    links: { previous: null, current: link(cursor), next: next ? link(next) : null },
  });
}

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host || `127.0.0.1:${PORT}`}`);
    if (req.method === 'GET' && url.pathname === '/crm/opportunities') {
      listOpportunities(req, res, url).catch((err) => sendError(res, 500, 'Internal Server Error', err.message));
    } else if (req.method === 'GET' && url.pathname === '/health') {
      send(res, 200, { status: 'OK' });
    } else {
      sendError(res, 404, 'Not Found', `${req.method} ${url.pathname}`);
    }
  });
  // Keep the load generator's connections open as long as it likes (Node closes idle ones at 5 s).
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.listen(PORT, '127.0.0.1');
}

if (WORKERS > 1 && cluster.isPrimary) {
  let stopping = false;
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  // A worker that dies would silently halve the peer: say so and stop, rather than measure less.
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`node peer: worker ${worker.process.pid} exited (${signal || code})`);
      process.exit(1);
    }
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  serve();
}
