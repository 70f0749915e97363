import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../env';
import { fastifyTrustProxy } from './trust-proxy';

const configured = (TRUST_PROXY?: string) =>
  loadConfig({ NODE_ENV: 'test', ...(TRUST_PROXY === undefined ? {} : { TRUST_PROXY }) })
    .trustProxy;

/** The address Fastify names the client of a request from `peer` forwarding `forwardedFor`. */
async function clientAddress(
  trustProxy: string | undefined,
  peer: string,
  forwardedFor?: string,
): Promise<string> {
  const app = Fastify({ trustProxy: fastifyTrustProxy(configured(trustProxy)) });
  app.get('/', async (request) => ({ ip: request.ip }));
  try {
    const res = await app.inject({
      method: 'GET',
      url: '/',
      remoteAddress: peer,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });
    return (res.json() as { ip: string }).ip;
  } finally {
    await app.close();
  }
}

describe('TRUST_PROXY', () => {
  it('parses false (the default), true, a hop count and a comma list of addresses and CIDRs', () => {
    expect(configured()).toBe(false);
    expect(configured('false')).toBe(false);
    expect(configured('true')).toBe(true);
    expect(configured('2')).toBe(2);
    expect(configured(' 10.0.0.1, 172.16.0.0/12 ,fd00::/8,loopback')).toEqual([
      '10.0.0.1',
      '172.16.0.0/12',
      'fd00::/8',
      'loopback',
    ]);
  });

  it.each(['yes', '10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.1/8/8', ','])(
    'refuses %j at start, naming the variable',
    (value) => {
      expect(() => configured(value)).toThrow(ConfigError);
      expect(() => configured(value)).toThrow(/TRUST_PROXY/);
    },
  );

  it('unset: the socket address, whatever X-Forwarded-For says', async () => {
    expect(await clientAddress(undefined, '192.0.2.1', '198.51.100.9')).toBe('192.0.2.1');
  });

  it('true: the first forwarded address', async () => {
    expect(await clientAddress('true', '192.0.2.1', '198.51.100.9, 10.0.0.2')).toBe('198.51.100.9');
    expect(await clientAddress('true', '192.0.2.1')).toBe('192.0.2.1');
  });

  it('a hop count: the address that many proxies back, and no further', async () => {
    expect(await clientAddress('1', '10.0.0.2', '6.6.6.6, 198.51.100.9')).toBe('198.51.100.9');
    expect(await clientAddress('2', '10.0.0.2', '6.6.6.6, 198.51.100.9, 10.0.0.3')).toBe(
      '198.51.100.9',
    );
    expect(await clientAddress('0', '10.0.0.2', '198.51.100.9')).toBe('10.0.0.2');
  });

  it('a list: the forwarded address only from a listed proxy', async () => {
    const trusted = '10.0.0.0/8';
    expect(await clientAddress(trusted, '10.1.2.3', '6.6.6.6, 198.51.100.9')).toBe('198.51.100.9');
    expect(await clientAddress(trusted, '192.0.2.1', '198.51.100.9')).toBe('192.0.2.1');
  });
});
