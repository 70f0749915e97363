import type { IncomingHttpHeaders } from 'node:http';
import type { AuthUser, Context, Services } from '@personas/contracts';

/** Resolves a bearer token to its user, or null when absent, unknown, expired or revoked. */
export type Authenticate = (token: string) => Promise<AuthUser | null>;

export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const header = headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** The caller of a request from its headers; the same promise for the same request's headers. */
export type AuthenticateRequest = (headers: IncomingHttpHeaders) => Promise<AuthUser | null>;

/** One context per request, shared by the tRPC and REST transports. */
export function createContextFactory(services: Services, authenticateRequest: AuthenticateRequest) {
  return async ({ req }: { req: { headers: IncomingHttpHeaders } }): Promise<Context> => {
    const user = await authenticateRequest(req.headers);
    return { user, services };
  };
}
