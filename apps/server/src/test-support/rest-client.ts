import type { FastifyInstance } from 'fastify';

export interface RestResponse<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

/** A REST call through the whole HTTP stack (Fastify inject: no socket, same code path). */
export function restClient(http: FastifyInstance) {
  return async function call<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    opts: {
      token?: string;
      body?: unknown;
      /** Further request headers (e.g. `X-Forwarded-For`). */
      headers?: Record<string, string>;
      /** The socket's address; inject's default is 127.0.0.1. */
      remoteAddress?: string;
    } = {},
  ): Promise<RestResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await http.inject({
      method,
      url: `/api${url}`,
      headers,
      ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
      payload: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    return { status: res.statusCode, body: res.json() as T, headers: res.headers };
  };
}
export type RestCall = ReturnType<typeof restClient>;
