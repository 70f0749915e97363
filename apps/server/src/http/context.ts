import type { IncomingHttpHeaders } from 'node:http';
import { type AuthUser, type Context, type Services, toTRPCError } from '@personas/contracts';

/** Resolves a bearer token to its user, or null when absent, unknown, expired or revoked. */
export type Authenticate = (token: string) => Promise<AuthUser | null>;

export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const header = headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** One context per request, shared by the tRPC and REST transports. */
export function createContextFactory(services: Services, authenticate: Authenticate) {
  return async ({ req }: { req: { headers: IncomingHttpHeaders } }): Promise<Context> => {
    const token = bearerToken(req.headers);
    try {
      const user = token ? await authenticate(token) : null;
      return { user, services };
    } catch (error) {
      // No procedure middleware runs around the context: translate here (an unreachable
      // database while resolving the token is a 503, not a 500).
      throw toTRPCError(error);
    }
  };
}
