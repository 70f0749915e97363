// GET /metrics of a real server process, after a few requests of each kind, read with a real
// Prometheus text-format parser: the series an operator relies on are there, labelled by route
// template (never a raw URL), and the endpoint is closed without METRICS_TOKEN.
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, adminEnv, QUESTION, TEA_GUIDE } from './support/fixtures';
import { rest } from './support/rest';
import { type ServerProcess, startServerProcess } from './support/server-process';

const METRICS_TOKEN = 'metrics-token-for-the-test';

let server: ServerProcess;
let personaId: string;
let families: Map<string, PrometheusFamily>;
let exposition: string;

beforeAll(async () => {
  server = await startServerProcess({ ...adminEnv(), METRICS_TOKEN });
  const api = async <T>(method: 'GET' | 'POST', path: string, token?: string, body?: unknown) => {
    const answer = await rest<T>(server.url, { method, path, token, body });
    expect(answer.status, `${method} ${path}`).toBe(200);
    return answer.body;
  };
  const { token } = await api<{ token: string }>('POST', '/auth/login', undefined, ADMIN);
  await api('POST', '/collections', token, { name: 'metered' });
  await api('POST', '/collections/metered/documents', token, TEA_GUIDE);
  await api('POST', '/collections/metered/search', token, { query: QUESTION, mode: 'hybrid' });
  personaId = (
    await api<{ persona_id: string }>('POST', '/personas/build', token, {
      persona_name: 'Metered',
      rag: { db_collections: ['metered'] },
    })
  ).persona_id;
  await api('GET', `/personas/${personaId}`, token);
  await api('POST', `/personas/${personaId}/chat`, token, { content: QUESTION });
  const v1 = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: personaId, messages: [{ role: 'user', content: QUESTION }] }),
  });
  expect(v1.status).toBe(200);
  const trpc = await fetch(`${server.url}/trpc/auth.me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(trpc.status).toBe(200);
  expect((await fetch(`${server.url}/api/personas/not-a-persona`)).status).toBe(401);

  const scraped = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(scraped.status).toBe(200);
  expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  exposition = await scraped.text();
  families = new Map(parsePrometheusTextFormat(exposition).map((f) => [f.name, f]));
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

function samples(name: string) {
  const family = families.get(name);
  expect(family, `${name} is exported`).toBeDefined();
  return family?.metrics ?? [];
}

/**
 * A labelled histogram's observation count. The parser keeps a histogram's buckets but drops
 * their labels, so its `_count` series is read from the exposition line itself.
 */
function histogramCount(name: string, labels: Record<string, string>): number {
  expect(families.get(name)?.type, `${name} is a histogram`).toBe('HISTOGRAM');
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = exposition
    .split('\n')
    .find((l) => l.startsWith(`${name}_count{`) && wanted.every((w) => l.includes(w)));
  return Number(line?.split(' ').at(-1));
}

const withLabels = (name: string, labels: Record<string, string>) =>
  samples(name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));

describe('/metrics', () => {
  it('is refused without the METRICS_TOKEN', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer no' } });
    expect(wrong.status).toBe(401);
  });

  it('counts HTTP requests by route template, method and status, with latency histograms', () => {
    for (const [route, method, status] of [
      ['/api/personas/{persona_id}', 'GET', '200'],
      ['/api/personas/{persona_id}', 'GET', '401'],
      ['/api/collections/{name}/documents', 'POST', '200'],
      ['/trpc/auth.me', 'GET', '200'],
      ['/v1/chat/completions', 'POST', '200'],
    ] as const) {
      const found = withLabels('personas_http_requests_total', { route, method, status });
      expect(found, `${method} ${route} ${status}`).toHaveLength(1);
      expect(Number(found[0]?.value)).toBeGreaterThanOrEqual(1);
    }
    expect(
      histogramCount('personas_http_request_duration_seconds', {
        route: '/api/personas/{persona_id}/chat',
        method: 'POST',
      }),
    ).toBe(1);
    // No series is keyed by an id: labels are templates.
    const labels = JSON.stringify(samples('personas_http_requests_total'));
    expect(labels).not.toContain(personaId);
  });

  it('times model calls and chat turns by provider and outcome, retrieval by mode, ingestion by outcome', () => {
    const turns = withLabels('personas_chat_turns_total', { provider: 'offline', outcome: 'ok' });
    expect(Number(turns[0]?.value)).toBe(2);
    expect(
      histogramCount('personas_model_call_duration_seconds', {
        provider: 'offline',
        outcome: 'ok',
      }),
    ).toBe(2);
    // The search and the two chats.
    expect(histogramCount('personas_retrieval_duration_seconds', { mode: 'hybrid' })).toBe(3);
    expect(Number(withLabels('personas_ingestions_total', { outcome: 'ok' })[0]?.value)).toBe(1);
    expect(histogramCount('personas_ingestion_duration_seconds', { outcome: 'ok' })).toBe(1);
  });

  it('exports index sizes per collection and how far the indexes are behind the change log', () => {
    const vectors = samples('personas_index_entries').filter((s) => s.labels?.kind === 'vector');
    const lexical = samples('personas_index_entries').filter((s) => s.labels?.kind === 'lexical');
    expect(vectors).toHaveLength(1);
    expect(Number(vectors[0]?.value)).toBeGreaterThan(0);
    expect(Number(lexical[0]?.value)).toBe(Number(vectors[0]?.value));
    for (const name of ['personas_replication_lag_changes', 'personas_replication_lag_seconds']) {
      expect(Number(samples(name)[0]?.value)).toBeGreaterThanOrEqual(0);
    }
  });

  it('exports the runtime: event-loop delay, memory', () => {
    expect(samples('nodejs_eventloop_lag_seconds').length).toBeGreaterThan(0);
    expect(samples('process_resident_memory_bytes').length).toBeGreaterThan(0);
  });
});
