import { describe, expect, it } from 'vitest';
import { parseIpLiteral } from './address-rules';
import { allowListOf, allowsAddress, allowsHostName, parseAllowList } from './allow-list';

const address = (text: string) => {
  const parsed = parseIpLiteral(text);
  if (!parsed) throw new Error(`not an address: ${text}`);
  return parsed;
};

describe('URL_FETCH_ALLOW_HOSTS', () => {
  it('parses host names, addresses and CIDRs from a comma list, skipping blanks', () => {
    const list = parseAllowList(' Wiki.Corp. ,10.0.0.0/8,, 127.0.0.1 ,[::1], fd00::/8 ,');
    expect([...list.hostNames]).toEqual(['wiki.corp']);
    expect(list.ranges.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual([
      '10.0.0.0/8',
      '127.0.0.1/32',
      '::1/128',
      'fd00::/8',
    ]);
    expect(parseAllowList('').hostNames.size + parseAllowList('').ranges.length).toBe(0);
  });

  it('matches host names exactly and case-insensitively, without subdomains', () => {
    const list = parseAllowList('wiki.corp,localhost');
    expect(allowsHostName(list, 'WIKI.corp')).toBe(true);
    expect(allowsHostName(list, 'wiki.corp.')).toBe(true);
    expect(allowsHostName(list, 'localhost')).toBe(true);
    expect(allowsHostName(list, 'evil.wiki.corp')).toBe(false);
    expect(allowsHostName(list, 'wiki.corp.evil')).toBe(false);
    expect(allowsHostName(list, '127.0.0.1')).toBe(false);
  });

  it('matches addresses and CIDRs against the connected address, mapped IPv6 read as IPv4', () => {
    const list = parseAllowList('127.0.0.1,10.0.0.0/8,fd00::/8,::ffff:192.168.0.0/112');
    expect(allowsAddress(list, address('127.0.0.1'))).toBe(true);
    expect(allowsAddress(list, address('::ffff:127.0.0.1'))).toBe(true);
    expect(allowsAddress(list, address('127.0.0.2'))).toBe(false);
    expect(allowsAddress(list, address('10.255.0.1'))).toBe(true);
    expect(allowsAddress(list, address('11.0.0.1'))).toBe(false);
    expect(allowsAddress(list, address('fd12::1'))).toBe(true);
    expect(allowsAddress(list, address('fe80::1'))).toBe(false);
    expect(allowsAddress(list, address('192.168.3.4'))).toBe(true);
    expect(allowsAddress(list, address('::1'))).toBe(false);
    // An address entry is not a name entry: it allows no host name by itself.
    expect(allowsHostName(list, 'localhost')).toBe(false);
  });

  it.each([
    ['http://wiki.corp', 'bare host name'],
    ['wiki.corp:8080', 'no scheme, port'],
    ['user@wiki.corp', 'bare host name'],
    ['wiki corp', 'bare host name'],
    ['wiki.corp/docs', 'bare host name'],
    ['10.0.0.0/33', 'CIDR'],
    ['10.0.0.0/', 'CIDR'],
    ['10.0.0/8', 'CIDR'],
    ['10.0.0.0/8/9', 'CIDR'],
    ['fd00::/129', 'CIDR'],
    ['localhost/8', 'bare host name'],
    ['2130706433', 'dotted form'],
    ['0x7f.1', 'dotted form'],
    ['exa%mple.com', 'not a valid host name'],
  ])('refuses the entry %s with a clear message', (entry, words) => {
    expect(() => parseAllowList(`localhost,${entry}`)).toThrow(
      expect.objectContaining({
        name: 'InvalidAllowListEntry',
        entry,
        message: expect.stringMatching(new RegExp(`^URL_FETCH_ALLOW_HOSTS: ".*" .*${words}`)),
      }),
    );
  });

  it('parses an options array once', () => {
    const entries = ['localhost'];
    expect(allowListOf(entries)).toBe(allowListOf(entries));
  });
});
