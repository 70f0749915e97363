import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

/** A logger at `info` whose lines are kept, parsed. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(line) });
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line)) };
}

describe('createLogger', () => {
  it('never writes an authorization or cookie header, even of a request logged whole', () => {
    const { logger, lines, parsed } = capturingLogger();
    logger.info(
      {
        req: {
          method: 'GET',
          url: '/api/auth/me',
          headers: { authorization: 'Bearer secret-token', cookie: 'sid=secret-cookie' },
        },
      },
      'a request',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/secret/);
    expect(parsed()[0].req).toEqual({ method: 'GET', url: '/api/auth/me' });
  });

  it("logs a request's path, never its query string (a tRPC GET's input, a ?token=)", () => {
    const { logger, lines, parsed } = capturingLogger();
    const urls = [
      '/trpc/chat.stream?input=%7B%22content%22%3A%22secret-message%22%7D',
      '/api/auth/me?token=secret-token',
      '/api/collections?secret-bare-key',
      '/api/collections#secret-fragment',
    ];
    for (const url of urls) logger.info({ req: { method: 'GET', url } }, 'incoming request');
    expect(lines.join('\n')).not.toMatch(/secret/);
    expect(parsed().map((line) => line.req.url)).toEqual([
      '/trpc/chat.stream?[Redacted]',
      '/api/auth/me?[Redacted]',
      '/api/collections?[Redacted]',
      '/api/collections?[Redacted]',
    ]);
  });

  it('keeps the fields Fastify logs of a request: host and client address', () => {
    const { logger, parsed } = capturingLogger();
    const req = {
      method: 'POST',
      url: '/api/auth/login',
      host: 'personas.example',
      ip: '203.0.113.7',
      socket: { remotePort: 50_000 },
    };
    logger.info({ req }, 'incoming request');
    expect(parsed()[0].req).toEqual({
      method: 'POST',
      url: '/api/auth/login',
      host: 'personas.example',
      remoteAddress: '203.0.113.7',
      remotePort: 50_000,
    });
  });
});
