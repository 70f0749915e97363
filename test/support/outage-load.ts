import { setTimeout as delay } from 'node:timers/promises';
import { ADMIN, PASSWORD } from './fixtures';
import type { ThrowawayPostgres } from './throwaway-postgres';

/** The settings a server under outage load needs: chat limits out of the way of the load. */
export const OUTAGE_SERVER_ENV: Record<string, string> = {
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  CHAT_RATE_LIMIT_PER_MINUTE: '100000',
};

const COLLECTION = 'outage-notes';

type Transport = 'rest-document' | 'rest-chat' | 'trpc' | 'sse';
const TRANSPORTS: Transport[] = ['rest-document', 'rest-chat', 'trpc', 'sse'];

export interface OutageFixtures {
  token: string;
  personaId: string;
}

export interface OutageRound {
  requests: number;
  byStatus: Record<string, number>;
  /** Every 500 (or a stream's INTERNAL_SERVER_ERROR event), with what it said. */
  internalErrors: string[];
  answered503: number;
  /** 503s that came without `Retry-After`. */
  missing503RetryAfter: number;
  /** Which transports answered 503 at least once. */
  transports503: Transport[];
  /** Requests that got no HTTP answer (reset or refused socket). */
  networkErrors: number;
  acknowledgedWrites: number;
  /** Acknowledged writes (documents, chat exchanges) not found once the database was back. */
  lostWrites: string[];
  /** From `pg_ctl start` returning to the first 200 of a database-backed request, or null. */
  recoveryMs: number | null;
  /** `/readyz` while the database was down: its status and `reason`. */
  readyzDuringOutage: { status: number; reason: unknown } | null;
}

async function json(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function rest(url: string, method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await json(response) };
}

async function ok<T>(answer: Promise<{ status: number; body: unknown }>): Promise<T> {
  const { status, body } = await answer;
  if (status >= 300) throw new Error(`setup request failed: ${status} ${JSON.stringify(body)}`);
  return body as T;
}

/** A builder with a collection holding one document, and a persona that retrieves from it. */
export async function setUpOutageFixtures(url: string): Promise<OutageFixtures> {
  const admin = await ok<{ token: string }>(rest(url, 'POST', '/auth/login', undefined, ADMIN));
  const email = `outage-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const builder = await ok<{ token: string; user_id: string }>(
    rest(url, 'POST', '/auth/register', undefined, { email, password: PASSWORD }),
  );
  await ok(rest(url, 'PUT', `/users/${builder.user_id}/role`, admin.token, { role: 'builder' }));
  await ok(rest(url, 'POST', '/collections', builder.token, { name: COLLECTION }));
  const persona = await ok<{ persona_id: string }>(
    rest(url, 'POST', '/personas/build', builder.token, {
      persona_name: `Outage ${email}`,
      rag: { db_collections: [COLLECTION] },
    }),
  );
  return { token: builder.token, personaId: persona.persona_id };
}

/** Polls `check` until it is true or `boundMs` passes; resolves with whether it came true. */
export async function until(
  check: () => boolean | Promise<boolean>,
  boundMs: number,
): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await delay(50);
  }
  return false;
}

/**
 * One outage under load: `clients` concurrent clients upload documents and chat (REST), read
 * `auth.me` (tRPC) and stream chats (SSE) while Postgres is killed with `pg_ctl stop -m
 * immediate`, kept down for `outageMs`, and started again. Every answer is counted; afterwards
 * every acknowledged document and chat exchange is looked up.
 */
export async function runOutageRound(
  url: string,
  cluster: ThrowawayPostgres,
  fixtures: OutageFixtures,
  opts: { clients?: number; outageMs?: number; boundMs?: number } = {},
): Promise<OutageRound> {
  const clients = opts.clients ?? 4;
  const outageMs = opts.outageMs ?? 3_000;
  const boundMs = opts.boundMs ?? 60_000;
  const { token, personaId } = fixtures;
  const round: OutageRound = {
    requests: 0,
    byStatus: {},
    internalErrors: [],
    answered503: 0,
    missing503RetryAfter: 0,
    transports503: [],
    networkErrors: 0,
    acknowledgedWrites: 0,
    lostWrites: [],
    recoveryMs: null,
    readyzDuringOutage: null,
  };
  const documents: string[] = [];
  const chats: { historyId: string; content: string }[] = [];
  const okAfterRestart = new Set<Transport>();
  let restarted = false;
  let running = true;
  const tag = `${Date.now().toString(36)}`;

  const record = (transport: Transport, status: number, headers: Headers, detail: unknown) => {
    round.requests += 1;
    round.byStatus[status] = (round.byStatus[status] ?? 0) + 1;
    if (status >= 500 && status !== 503) {
      round.internalErrors.push(`${transport} ${status} ${JSON.stringify(detail).slice(0, 300)}`);
    }
    if (status === 503) {
      round.answered503 += 1;
      if (!headers.get('retry-after')) round.missing503RetryAfter += 1;
      if (!round.transports503.includes(transport)) round.transports503.push(transport);
    }
    if (status < 300 && restarted) okAfterRestart.add(transport);
  };

  const once = async (transport: Transport, n: number, client: number) => {
    const label = `${tag}-${client}-${n}`;
    if (transport === 'rest-document') {
      const answer = await rest(url, 'POST', `/collections/${COLLECTION}/documents`, token, {
        file_name: `${label}.md`,
        doc_path: `load/${label}.md`,
        content_type: 'text/markdown',
        content: `# Note ${label}\n\nGreen tea note ${label} is brewed at 80 degrees.`,
      });
      record(transport, answer.status, answer.headers, answer.body);
      if (answer.status < 300) documents.push((answer.body as { document_id: string }).document_id);
    } else if (transport === 'rest-chat') {
      const content = `How is green tea ${label} brewed?`;
      const answer = await rest(url, 'POST', `/personas/${personaId}/chat`, token, { content });
      record(transport, answer.status, answer.headers, answer.body);
      if (answer.status < 300) {
        chats.push({
          historyId: (answer.body as { message_history_id: string }).message_history_id,
          content,
        });
      }
    } else if (transport === 'trpc') {
      const response = await fetch(`${url}/trpc/auth.me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      record(transport, response.status, response.headers, await json(response));
    } else {
      const response = await fetch(`${url}/api/personas/${personaId}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: `Streamed green tea ${label}?` }),
      });
      const text = await response.text();
      // A stream that began (200) and then failed inside reports it as an `error` event.
      const failed = /event: error\ndata: (.*)/.exec(text)?.[1];
      let status = response.status;
      if (failed) status = JSON.parse(failed).code === 'SERVICE_UNAVAILABLE' ? 503 : 500;
      // An event has no headers to carry Retry-After: only a refused stream's 503 is checked.
      const headers =
        failed && status === 503 ? new Headers({ 'retry-after': 'in-stream' }) : response.headers;
      record(transport, status, headers, failed ?? text.slice(0, 300));
    }
  };

  const client = async (index: number) => {
    // Bounded: a round never sends more than this per client, whatever happens.
    for (let n = 0; running && n < 5_000; n += 1) {
      const transport = TRANSPORTS[(index + n) % TRANSPORTS.length]!;
      try {
        await once(transport, n, index);
      } catch {
        round.networkErrors += 1;
      }
      // Pacing, not synchronisation: a few requests a second per client, not a spin.
      await delay(20);
    }
  };

  const load = Array.from({ length: clients }, (_, i) => client(i));
  try {
    if (!(await until(() => documents.length > 0 && chats.length > 0, boundMs))) {
      throw new Error('no write was acknowledged before the outage');
    }
    await cluster.kill();
    const downAt = Date.now();
    await until(async () => {
      const ready = await fetch(`${url}/readyz`).catch(() => null);
      if (ready?.status !== 503) return false;
      round.readyzDuringOutage = {
        status: ready.status,
        reason: ((await json(ready)) as { reason?: unknown }).reason,
      };
      return true;
    }, outageMs);
    // The outage lasts its full length, whatever /readyz said and when.
    await delay(Math.max(0, outageMs - (Date.now() - downAt)));
    await cluster.start();
    const backAt = Date.now();
    restarted = true;
    const recovered = await until(async () => {
      const me = await fetch(`${url}/api/auth/me`, {
        headers: { authorization: `Bearer ${token}` },
      }).catch(() => null);
      return me?.status === 200;
    }, boundMs);
    if (recovered) round.recoveryMs = Date.now() - backAt;
    // Each transport has served again before the load stops.
    await until(() => TRANSPORTS.every((t) => okAfterRestart.has(t)), boundMs);
  } finally {
    running = false;
    await Promise.all(load);
  }

  round.acknowledgedWrites = documents.length + chats.length;
  const listed = await rest(url, 'GET', `/collections/${COLLECTION}/documents`, token);
  const present = new Set(
    ((listed.body as { documents?: { document_id: string }[] }).documents ?? []).map(
      (d) => d.document_id,
    ),
  );
  for (const id of documents) if (!present.has(id)) round.lostWrites.push(`document ${id}`);
  for (const chat of chats) {
    const history = await rest(url, 'GET', `/message_histories/${chat.historyId}`, token);
    const messages = (history.body as { messages?: { role: string; content: string }[] }).messages;
    const asked = messages?.findIndex((m) => m.role === 'user' && m.content === chat.content);
    if (asked === undefined || asked < 0 || messages?.[asked + 1]?.role !== 'assistant') {
      round.lostWrites.push(`chat exchange in ${chat.historyId}`);
    }
  }
  return round;
}
