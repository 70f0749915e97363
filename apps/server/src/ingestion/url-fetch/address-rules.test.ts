import { describe, expect, it } from 'vitest';
import { blockedRange, parseIpLiteral } from './address-rules';
import { bareHostname, parseTargetUrl } from './target-url';

/** The range an address in a URL's host is refused for, as the fetcher judges it. */
function judge(text: string): string | null {
  const address = parseIpLiteral(text);
  if (!address) throw new Error(`not an address: ${text}`);
  return blockedRange(address);
}

describe('address rules', () => {
  it.each([
    // IPv4
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fec0::1', 'deprecatedSiteLocal'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard'],
    ['2001:db8::1', 'reserved'],
    // IPv4 embedded in IPv6
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'ipv4Compatible'],
    ['::8.8.8.8', 'ipv4Compatible'],
    ['64:ff9b::127.0.0.1', 'nat64 loopback'],
    ['64:ff9b::a9fe:a9fe', 'nat64 linkLocal'],
    ['64:ff9b:1::a00:1', 'rfc6052'],
    ['::ffff:0:7f00:1', 'rfc6145'],
    ['2002:7f00:1::1', '6to4'],
    ['2002:808:808::1', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
    ['4000::1', 'notGlobalUnicast'],
  ])('refuses %s (%s)', (address, range) => {
    expect(judge(address)).toBe(range);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
  ])('allows the public address %s', (address) => {
    expect(judge(address)).toBeNull();
  });

  it.each([
    ['http://2130706433/', '127.0.0.1', 'loopback'],
    ['http://0x7f.1/', '127.0.0.1', 'loopback'],
    ['http://0177.0.0.1/', '127.0.0.1', 'loopback'],
    ['http://127.1/', '127.0.0.1', 'loopback'],
    ['http://0/', '0.0.0.0', 'unspecified'],
    ['http://0xa9fea9fe/', '169.254.169.254', 'linkLocal'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'loopback'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe', 'linkLocal'],
    ['http://[::]/', '::', 'unspecified'],
  ])('reads %s as %s, a %s address', (url, host, range) => {
    const target = parseTargetUrl(url);
    expect(bareHostname(target)).toBe(host);
    expect(judge(bareHostname(target))).toBe(range);
  });

  it('treats host names, even digit-like ones, as names and not addresses', () => {
    expect(parseIpLiteral('localhost')).toBeNull();
    expect(parseIpLiteral('1.2.3.4.example')).toBeNull();
    expect(parseIpLiteral('0x7f.1')).toBeNull();
  });
});

describe('URL rules', () => {
  it.each([
    'file:///etc/passwd',
    'ftp://example.com/a',
    'gopher://example.com/',
    'data:text/plain,hi',
    'javascript:alert(1)',
  ])('refuses the scheme of %s', (url) => {
    expect(() => parseTargetUrl(url)).toThrow(
      expect.objectContaining({ code: 'blocked_address', detail: expect.stringContaining('http') }),
    );
  });

  it.each(['http://user:pass@example.com/', 'https://trusted.example@evil.example/'])(
    'refuses credentials in %s',
    (url) => {
      expect(() => parseTargetUrl(url)).toThrow(
        expect.objectContaining({
          code: 'blocked_address',
          detail: expect.stringContaining('credentials'),
        }),
      );
    },
  );

  it('refuses what is not a URL as fetch_failed', () => {
    expect(() => parseTargetUrl('not a url')).toThrow(
      expect.objectContaining({ code: 'fetch_failed' }),
    );
  });
});
