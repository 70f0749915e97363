import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

describe('createLogger', () => {
  it('never writes an authorization or cookie header, even of a request logged whole', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    logger.info(
      { req: { headers: { authorization: 'Bearer secret-token', cookie: 'sid=secret-cookie' } } },
      'a request',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/secret/);
    expect(JSON.parse(lines[0]!).req.headers).toEqual({
      authorization: '[Redacted]',
      cookie: '[Redacted]',
    });
  });
});
