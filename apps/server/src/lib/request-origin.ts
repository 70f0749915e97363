import { AsyncLocalStorage } from 'node:async_hooks';

/** Where the request being served came from, as the audit trail records it. */
export interface RequestOrigin {
  ip: string;
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestOrigin>();

/**
 * Runs the rest of a request inside its origin, so code deep in a service (the audit trail) can
 * name the request without every port carrying it. Installed as a callback-style `onRequest`
 * hook: calling `done` inside `run` is what carries the store through Fastify's later hooks and
 * the handler (the pattern of @fastify/request-context).
 */
export function runWithRequestOrigin(origin: RequestOrigin, continueRequest: () => void): void {
  storage.run(origin, continueRequest);
}

/** The origin of the request this code serves; undefined outside one (CLI, start-up). */
export function currentRequestOrigin(): RequestOrigin | undefined {
  return storage.getStore();
}
