import { describe, expect, it } from 'vitest';
import { fileNameOf, mediaTypeOf } from './document-naming';

describe('naming a fetched document', () => {
  it.each([
    ['https://example.com/docs/My%20Notes.pdf', 'My Notes.pdf'],
    ['https://example.com/docs/report.pdf?download=1#page=2', 'report.pdf'],
    ['https://example.com/docs/guide/', 'guide'],
    ['https://example.com/', 'example.com'],
    ['https://Example.COM', 'example.com'],
    ['https://example.com/a/..%2F..%2Fetc%2Fpasswd', '.._.._etc_passwd'],
    ['https://example.com/%2e%2e', 'example.com'],
    ['https://example.com/bad%E0%A4%A', 'bad%E0%A4%A'],
    ['https://example.com/%C3%A9t%C3%A9.md', 'été.md'],
    ['https://example.com/line%0Abreak.txt', 'line_break.txt'],
  ])('names %s %j', (url, name) => {
    expect(fileNameOf(new URL(url))).toBe(name);
  });

  it.each([
    ['text/html; charset=utf-8', 'text/html'],
    ['Application/PDF', 'application/pdf'],
    [' text/plain ', 'text/plain'],
    ['', null],
    [undefined, null],
  ])('reads the media type of %j as %j', (header, type) => {
    expect(mediaTypeOf(header)).toBe(type);
  });
});
