import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './env';
import { requestForLogs } from './request-log';

export type { Logger };

/**
 * Paths no log line may carry, whoever logs them. The request serializer already leaves headers
 * out; this keeps a token out of the logs should a request's headers be logged another way.
 */
const REDACTED_PATHS = ['req.headers.authorization', 'req.headers.cookie'];

/**
 * The process's one logger: JSON lines on stdout (or `destination`, in tests). The HTTP host logs
 * through it (each request on a child carrying its request id) and so does background work — index
 * writes, database connections — which has no request to report to.
 *
 * @example const logger = createLogger(config.logLevel)
 */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  // A logger instance's serializers take precedence over Fastify's: this `req` is the one every
  // request line uses, and it logs no query string (where a tRPC GET carries its input).
  return pino({ level, redact: REDACTED_PATHS, serializers: { req: requestForLogs } }, destination);
}
