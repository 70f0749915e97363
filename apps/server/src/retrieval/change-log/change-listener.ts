import pg from 'pg';
import { CONNECT_TIMEOUT_MS } from '../../db/connect';
import type { Logger } from '../../logger';

/** The channel the change-log triggers notify (see the migration `chunk-change-log`). */
export const CHANGES_CHANNEL = 'chunk_changes';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

export interface ChangeListener {
  close(): Promise<void>;
}

/**
 * LISTENs for change-log notifications on a connection of its own (a pooled one would be handed
 * to queries and lose the LISTEN), and calls `wake` on each — and after every (re)connection,
 * since notifications sent while it was away are lost for good: NOTIFY is a wake-up, never a
 * record. A dropped connection (a terminated backend, a restarted server) is replaced with
 * backoff; a silently dead one is what the follower's periodic check is for.
 */
export function listenForChanges(
  connectionString: string,
  wake: () => void,
  logger: Logger,
  /** The channel to LISTEN on: the change log's by default; the ingestion jobs' too. */
  channel: string = CHANGES_CHANNEL,
): ChangeListener {
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;

  const scheduleReconnect = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({
      connectionString,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === next) client = null;
      if (!closed) {
        logger.warn({ err, channel }, 'a LISTEN connection was lost; reconnecting');
        scheduleReconnect();
      }
      next.end().catch(() => undefined);
    };
    // Without an `error` listener, a dropped connection would crash the process.
    next.on('error', onLost);
    next.on('end', () => onLost());
    next.on('notification', () => wake());
    try {
      await next.connect();
      await next.query(`LISTEN ${channel}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (closed || lost) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    retryMs = FIRST_RETRY_MS;
    // Whatever was notified while no connection listened.
    wake();
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}
