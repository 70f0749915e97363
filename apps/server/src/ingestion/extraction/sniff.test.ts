import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeDocx } from './fixtures/docx';
import { writeZip } from './fixtures/zip-writer';
import { sniffFormat } from './sniff';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const text = (s: string) => new TextEncoder().encode(s);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49]);

describe('sniffFormat', () => {
  it('recognises a PDF by its signature, whatever its name', () => {
    expect(sniffFormat(fixture('multi-page.pdf'), 'notes.txt')).toBe('pdf');
  });

  it('recognises a DOCX from the whole file (central directory) and from its first bytes', () => {
    const docx = makeDocx([{ text: 'Hello' }]);
    expect(sniffFormat(docx, 'upload.bin')).toBe('docx');
    // Only the head: the local headers Word writes first decide.
    expect(sniffFormat(docx.subarray(0, 200), 'upload.bin')).toBe('docx');
  });

  it('refuses a ZIP that is not a Word document', () => {
    const zip = writeZip([{ name: 'photos/a.txt', data: text('not a document') }]);
    expect(sniffFormat(zip, 'archive.docx')).toBeNull();
    expect(sniffFormat(zip.subarray(0, 40), 'archive.zip')).toBeNull();
    const xlsx = writeZip([
      { name: '[Content_Types].xml', data: text('<Types/>') },
      { name: 'xl/workbook.xml', data: text('<workbook/>') },
    ]);
    expect(sniffFormat(xlsx, 'sheet.xlsx')).toBeNull();
    expect(sniffFormat(xlsx.subarray(0, 120), 'sheet.xlsx')).toBeNull();
  });

  it('refuses images, executables and random binary, even named as text', () => {
    expect(sniffFormat(PNG, 'image.txt')).toBeNull();
    expect(sniffFormat(text('\x7fELF\x02\x01\x01'), 'program.md')).toBeNull();
    expect(sniffFormat(Uint8Array.from([0x1f, 0x8b, 0x08, 0, 0]), 'a.txt')).toBeNull();
    let seed = 42;
    const random = Uint8Array.from({ length: 4096 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed >> 23;
    });
    expect(sniffFormat(random, 'data.txt', 'text/plain')).toBeNull();
  });

  it('refuses text that is not UTF-8 but accepts a multi-byte character cut by the head', () => {
    expect(
      sniffFormat(Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61]), 'latin1.txt'),
    ).toBeNull();
    const euro = text('price: 5 €'); // € is three bytes: cut after the first
    expect(sniffFormat(euro.subarray(0, euro.length - 2), 'a.txt')).toBe('text');
  });

  it('tells HTML from its tags or a declared type, Markdown from its name or declared type', () => {
    expect(sniffFormat(text('\n  <!DOCTYPE html><html><body>x'), 'page')).toBe('html');
    expect(sniffFormat(text('<?xml version="1.0"?>\n<html xmlns="x">'), 'page')).toBe('html');
    expect(sniffFormat(text('<p>Hello</p>'), 'fragment')).toBe('html');
    expect(sniffFormat(text('Hello'), 'page', 'text/html; charset=utf-8')).toBe('html');
    expect(sniffFormat(text('# Title\n\nBody'), 'README.md')).toBe('markdown');
    expect(sniffFormat(text('# Title'), 'notes', 'text/markdown')).toBe('markdown');
    expect(sniffFormat(text('<div>inline html in markdown</div>'), 'notes.md')).toBe('markdown');
    expect(sniffFormat(text('Just words, <b> not a tag start.'), 'notes.txt')).toBe('text');
  });

  it('honours a declared charset, and takes a legacy page by its ASCII tags', () => {
    const latin1 = (s: string) => Buffer.from(s, 'latin1');
    expect(sniffFormat(latin1('Señor'), 'a.txt')).toBeNull();
    expect(sniffFormat(latin1('Señor'), 'a.txt', 'text/plain; charset=ISO-8859-1')).toBe('text');
    expect(sniffFormat(latin1('<!DOCTYPE html><p>Señor</p>'), 'page')).toBe('html');
  });

  it('takes an empty file as text, so that extraction can say it holds none', () => {
    expect(sniffFormat(new Uint8Array(0), 'empty.pdf')).toBe('text');
  });
});
