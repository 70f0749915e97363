import type { AppRouter } from '@personas/contracts';
import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import { PersonasError } from './errors';

export interface PersonasClientOptions {
  /** The server's base URL, e.g. `http://localhost:3000`. */
  url: string;
  /** A session token from login/register. */
  token?: string;
  /** An API key; used when no token is given. */
  apiKey?: string;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof globalThis.fetch;
}

export type PersonasClient = TRPCClient<AppRouter>;

const CALLS = new Set(['query', 'mutate', 'subscribe']);

/** Wraps every procedure call so its failures reject with a PersonasError. */
function withPersonasErrors<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver) as unknown;
      if (typeof key === 'string' && CALLS.has(key) && typeof value === 'function') {
        return async (...args: unknown[]) => {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>)(...args);
          } catch (error) {
            throw PersonasError.from(error);
          }
        };
      }
      if ((typeof value === 'object' || typeof value === 'function') && value !== null) {
        return withPersonasErrors(value as object);
      }
      return value;
    },
  });
}

/**
 * A typed client for every procedure of a Personas server.
 *
 * @example
 * const client = createPersonasClient({ url: 'http://localhost:3000', token })
 * const info = await client.system.info.query()
 */
export function createPersonasClient(options: PersonasClientOptions): PersonasClient {
  const credential = options.token ?? options.apiKey;
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${options.url.replace(/\/+$/, '')}/trpc`,
        fetch: options.fetch,
        headers: () => (credential ? { authorization: `Bearer ${credential}` } : {}),
      }),
    ],
  });
  return withPersonasErrors(client);
}
