import type { IncomingHttpHeaders } from 'node:http';
import {
  type AuthUser,
  type Context,
  IDEMPOTENCY_KEY_HEADER,
  type Services,
  toTRPCError,
} from '@personas/contracts';

/** Resolves a bearer token to its user, or null when absent, unknown, expired or revoked. */
export type Authenticate = (token: string) => Promise<AuthUser | null>;

export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const header = headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * What the context reads of a request: its headers and the client address. That is Fastify's
 * `request.ip` (the socket's address, or the forwarded one when `TRUST_PROXY` trusts the peer),
 * so both adapters and the SSE route hand over the Fastify request, never the raw one.
 */
interface ContextRequest {
  headers: IncomingHttpHeaders;
  ip: string | undefined;
}

/** The header as sent, or null; repeated headers join with ", " and so fail the key's check. */
function idempotencyKey(headers: IncomingHttpHeaders): string | null {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The caller of a request from its headers; the same promise for the same request's headers. */
export type AuthenticateRequest = (headers: IncomingHttpHeaders) => Promise<AuthUser | null>;

/** One context per request, shared by the tRPC and REST transports. */
export function createContextFactory(services: Services, authenticateRequest: AuthenticateRequest) {
  return async ({ req }: { req: ContextRequest }): Promise<Context> => {
    let user: AuthUser | null;
    try {
      user = await authenticateRequest(req.headers);
    } catch (error) {
      // No procedure middleware runs around the context: translate here (an unreachable
      // database while resolving the token is a 503, not a 500).
      throw toTRPCError(error);
    }
    return {
      user,
      services,
      idempotencyKey: idempotencyKey(req.headers),
      // Undefined only once the socket is gone: such requests share one bucket.
      clientAddress: req.ip ?? 'unknown',
    };
  };
}
