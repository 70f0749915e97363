import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import {
  type ChatStreamEvent,
  type ChatStreamInput,
  type ChatStreamOptions,
  streamChat,
} from './chat-stream';
import { PersonasError, parseErrorBody, toSdkError } from './errors';
import type { PersonasRouter } from './router';

interface CommonOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:3000` (tRPC is at `/trpc`, REST at `/api`). */
  url: string;
  /** A fetch implementation (defaults to the global one): for proxies, tests, or other runtimes. */
  fetch?: typeof globalThis.fetch;
}

/**
 * Where the server is, and who is calling: a session `token` (from `auth.login` or
 * `auth.register`) or an `apiKey` (`pk_…`, from `auth.createApiKey`) — one of them, or neither for
 * the public procedures (`system.info`, `auth.register`, `auth.login`).
 */
export type PersonasClientOptions = CommonOptions &
  ({ token?: string; apiKey?: never } | { apiKey?: string; token?: never });

/** A procedure whose answer is a stream of events (or a subscription): not one JSON answer. */
type Streams<P> = P extends { subscribe: unknown }
  ? true
  : P extends { mutate: (...args: never[]) => Promise<AsyncIterable<unknown>> }
    ? true
    : P extends { query: (...args: never[]) => Promise<AsyncIterable<unknown>> }
      ? true
      : false;

/**
 * Drops streaming procedures (`chat.stream`): the client's batching link answers them with a
 * 415, as they need `httpBatchStreamLink`; `chatStream` is the SDK's streaming chat instead.
 */
type WithoutStreams<C> = {
  [N in keyof C]: {
    [K in keyof C[N] as Streams<C[N][K]> extends true ? never : K]: C[N][K];
  };
};

/**
 * Every query and mutation of the server but the streaming one, typed from its router:
 * `client.<router>.<procedure>`.
 */
export type PersonasTRPCClient = WithoutStreams<TRPCClient<PersonasRouter>>;

export interface PersonasClient extends PersonasTRPCClient {
  /**
   * Chats with a persona and yields its reply as it is written: one `meta`, then `token`s, then
   * `done` (whose `response` is the tokens joined). The request starts on the first iteration.
   * Failures throw a PersonasError; aborting the signal, or leaving the loop early, closes the
   * request.
   *
   * @example
   * for await (const event of client.chatStream(personaId, { content: 'Hello' })) {
   *   if (event.type === 'token') process.stdout.write(event.text)
   * }
   */
  chatStream(
    personaId: string,
    input: ChatStreamInput,
    options?: ChatStreamOptions,
  ): AsyncGenerator<ChatStreamEvent, void, undefined>;
}

const CALLS = new Set(['query', 'mutate']);

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
            throw toSdkError(error);
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
 * Fetch as the SDK uses it: an unreachable server is a PersonasError with status 0, and an error
 * the host answers itself before tRPC runs (`{detail, code}`: a body over the size limit, a wrong
 * URL), or a proxy in between, keeps its status instead of failing as an unreadable tRPC answer.
 */
function sdkFetch(base: typeof globalThis.fetch, url: string) {
  return async (input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit) => {
    let response: Response;
    try {
      response = await base(input, init);
    } catch (error) {
      if (init?.signal?.aborted) throw init.signal.reason ?? error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new PersonasError(0, 'NETWORK_ERROR', `Could not reach ${url}: ${reason}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      // tRPC's own errors are `{error: …}` (or a batch of them) and are read by the link; the
      // host's `{detail, code}`, or a proxy's page that is not JSON at all, are read here.
      const text = await response.clone().text();
      if (parseErrorBody(text) || !isJson(text)) throw await PersonasError.fromResponse(response);
    }
    return response;
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A typed client for every procedure of a Personas server, over tRPC (with batching), plus
 * `chatStream` over the REST event stream. Procedure types come from the server's router; every
 * failure rejects with a {@link PersonasError}.
 *
 * @example
 * const client = createPersonasClient({ url: 'http://127.0.0.1:3000', token })
 * const { persona_id } = await client.personas.build.mutate({ persona_name: 'Ada' })
 * const reply = await client.chat.send.mutate({ persona_id, content: 'Hello' })
 * console.log(reply.response)
 */
export function createPersonasClient(options: PersonasClientOptions): PersonasClient {
  const baseUrl = options.url.replace(/\/+$/, '');
  const credential = options.token ?? options.apiKey;
  const headers = (): Record<string, string> =>
    credential ? { authorization: `Bearer ${credential}` } : {};
  const fetch = sdkFetch(options.fetch ?? globalThis.fetch, baseUrl);

  const trpc = withPersonasErrors(
    createTRPCClient<PersonasRouter>({
      links: [httpBatchLink({ url: `${baseUrl}/trpc`, fetch, headers })],
    }),
  );

  const chatStream: PersonasClient['chatStream'] = (personaId, input, streamOptions) =>
    streamChat({ baseUrl, fetch, headers }, personaId, input, streamOptions);

  return new Proxy({} as PersonasClient, {
    get(_target, key) {
      if (key === 'chatStream') return chatStream;
      // Not a thenable: `await createPersonasClient(…)` and returning it from async code work.
      if (typeof key !== 'string' || key === 'then') return undefined;
      return Reflect.get(trpc, key);
    },
  });
}
