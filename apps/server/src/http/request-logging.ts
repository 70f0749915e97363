import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Fastify's per-request lines at a level that says whether to look: the incoming line at
 * `debug`, the completed one at `info` only for a 4xx/5xx (`error` for a 5xx, `warn` for a 503:
 * the server chose to refuse — database down, indexes loading, draining — and says why elsewhere)
 * or a request slower than `slowMs`, at `debug` otherwise — a busy server's info log stays
 * readable.
 */
export class RequestLogController extends LogController {
  constructor(private readonly slowMs: number) {
    super();
  }

  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const responseTime = reply.elapsedTime;
    if (error) {
      reply.log.error({ res: reply, err: error, responseTime }, 'request errored');
      return;
    }
    const status = reply.statusCode;
    const level =
      status === 503
        ? 'warn'
        : status >= 500
          ? 'error'
          : status >= 400 || responseTime >= this.slowMs
            ? 'info'
            : 'debug';
    reply.log[level]({ req: request, res: reply, responseTime }, 'request completed');
  }
}
