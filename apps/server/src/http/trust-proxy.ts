import { isIP } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import { z } from 'zod';

/** Names proxy-addr (Fastify's) expands to the loopback, link-local and unique-local ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`, or one of the named ranges. */
function isTrustedProxyEntry(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Whose `X-Forwarded-For` to believe, as `TRUST_PROXY` says: `false` (nobody: the socket's
 * address is the client's), `true` (any peer: only behind a proxy that overwrites the header),
 * a hop count (the n proxies nearest the server), or a comma list of proxy addresses or CIDRs.
 */
export const trustProxySchema = z
  .string()
  .default('false')
  .transform((value, ctx): TrustProxy => {
    const trimmed = value.trim();
    if (trimmed === 'false') return false;
    if (trimmed === 'true') return true;
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    const entries = trimmed
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.length > 0 && entries.every(isTrustedProxyEntry)) return entries;
    ctx.addIssue({
      code: 'custom',
      message:
        'must be true, false, a hop count, or a comma list of proxy addresses or CIDRs (10.0.0.0/8)',
    });
    return z.NEVER;
  });

export type TrustProxy = boolean | number | string[];

/**
 * Fastify's `trustProxy` for `TRUST_PROXY`; `request.ip` then names the client. A hop count is
 * passed as a function: Fastify 5 takes a bare number to mean "trust nobody" (it cannot check the
 * peer), while an operator who sets one means the proxies in front are the only way in.
 */
export function fastifyTrustProxy(trust: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (typeof trust !== 'number') return trust;
  if (trust === 0) return false;
  return (_address: string, hop: number) => hop < trust;
}
