import type { IncomingHttpHeaders } from 'node:http';
import { appRouter } from '@personas/contracts';
import type { AnyTRPCProcedure } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Authenticate, type AuthenticateRequest, bearerToken } from './context';
import { errorBody } from './error-body';

const UNAUTHENTICATED = 'Authentication required: send a valid Bearer token';

/** The procedures anyone may call (`protect: false` in their OpenAPI meta), and their REST routes. */
function publicRoutes() {
  const procedures = new Set<string>();
  const rest = new Set<string>();
  const all = appRouter._def.procedures as unknown as Record<string, AnyTRPCProcedure>;
  for (const [name, procedure] of Object.entries(all)) {
    const openapi = (
      procedure._def.meta as
        | { openapi?: { method: string; path: string; protect?: boolean } }
        | undefined
    )?.openapi;
    if (openapi?.protect !== false) continue;
    procedures.add(name);
    // By path, whatever the method: a wrong method there is the route's own 4xx, not a 401.
    rest.add(`/api${openapi.path}`);
  }
  return { procedures, rest };
}

function carriesBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
}

/** tRPC's own error envelope, so a tRPC client reads this 401 as it reads the procedure's own. */
function trpcUnauthorized(procedures: string[], batch: boolean) {
  const one = (path: string) => ({
    error: {
      message: UNAUTHENTICATED,
      code: -32001,
      data: { code: 'UNAUTHORIZED', httpStatus: 401, path },
    },
  });
  return batch ? procedures.map(one) : one(procedures[0] ?? '');
}

/**
 * A request with a body to a route that needs a signed-in user is refused 401 before its body is
 * read, so an anonymous client cannot make the server receive megabytes it will throw away. The
 * user is resolved once: the request's context reuses it (`authenticateOnce`).
 */
export function installAuthBeforeBody(
  app: FastifyInstance,
  authenticateOnce: AuthenticateRequest,
): void {
  const open = publicRoutes();
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!carriesBody(request.headers)) return;
    const [pathname = '', query = ''] = request.url.split('?', 2);
    let trpcProcedures: string[] | null = null;
    if (pathname.startsWith('/trpc/')) {
      trpcProcedures = decodeURIComponent(pathname.slice('/trpc/'.length)).split(',');
      if (trpcProcedures.every((p) => open.procedures.has(p))) return;
    } else if (pathname.startsWith('/api/')) {
      if (open.rest.has(pathname)) return;
    } else if (!pathname.startsWith('/v1/')) return;
    if (await authenticateOnce(request.raw.headers)) return;
    void reply.code(401).header('connection', 'close');
    if (trpcProcedures) {
      const batch = /(^|&)batch=1(&|$)/.test(query);
      return reply.send(trpcUnauthorized(trpcProcedures, batch));
    }
    return reply.send(errorBody('UNAUTHORIZED', UNAUTHENTICATED));
  });
}

/**
 * `authenticate` remembered per request (keyed by its headers object), so the hook above and the
 * request's context resolve a token once between them.
 */
export function authenticatePerRequest(authenticate: Authenticate): AuthenticateRequest {
  const seen = new WeakMap<IncomingHttpHeaders, ReturnType<Authenticate>>();
  return (headers: IncomingHttpHeaders): ReturnType<Authenticate> => {
    let user = seen.get(headers);
    if (!user) {
      const token = bearerToken(headers);
      user = token ? authenticate(token) : Promise.resolve(null);
      seen.set(headers, user);
    }
    return user;
  };
}
