import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDocx } from './fixtures/docx';
import { PAGE_SEVEN_SENTENCE } from './fixtures/pdf';
import { deflateRepeated, writeZip } from './fixtures/zip-writer';
import {
  closeExtractionPool,
  configureExtractionPool,
  type ExtractionLimits,
  ExtractionPool,
  extractDocument,
} from './index';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const text = (s: string) => new TextEncoder().encode(s);

const LIMITS: ExtractionLimits = {
  maxPdfPages: 2000,
  maxExpandedBytes: 8 * 1024 * 1024,
  maxArchiveEntries: 100,
  chunkSize: 400,
  chunkOverlap: 50,
};

// One pool for the file: the tests below run through a real worker thread.
const pool = new ExtractionPool({ size: 1 });
afterAll(() => pool.close());

const extract = (bytes: Uint8Array, fileName: string, limits = LIMITS, declaredType?: string) =>
  extractDocument({ bytes, fileName, declaredType }, limits, { pool });

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('extractDocument: PDF', () => {
  it('gives the text of each page with its page number, chunk indexes running on', async () => {
    const doc = await extract(fixture('multi-page.pdf'), 'book.pdf');
    expect(doc).toMatchObject({ format: 'pdf', contentType: 'application/pdf', pages: 10 });
    const seven = doc.chunks.filter((c) => c.text.includes(PAGE_SEVEN_SENTENCE));
    expect(seven.length).toBeGreaterThan(0);
    expect(seven.every((c) => c.page === 7)).toBe(true);
    expect(doc.chunks.map((c) => c.index)).toEqual(doc.chunks.map((_, i) => i));
    expect(doc.chunks[0]).toMatchObject({ page: 1, headingPath: [] });
    expect(doc.chunks.at(-1)?.page).toBe(10);
    expect(doc.chunks.find((c) => c.text.includes('Page 3 line 2'))?.page).toBe(3);
  }, 60_000);

  it('says encrypted for a password-protected PDF', async () => {
    expect(await failure(extract(fixture('encrypted.pdf'), 'secret.pdf'))).toBe('encrypted');
  }, 60_000);

  it('says no_text for a PDF without a text layer', async () => {
    expect(await failure(extract(fixture('no-text.pdf'), 'scan.pdf'))).toBe('no_text');
  });

  it('says corrupt for a truncated or garbled PDF', async () => {
    const pdf = fixture('multi-page.pdf');
    expect(await failure(extract(pdf.subarray(0, pdf.length / 2), 'cut.pdf'))).toBe('corrupt');
    const garbled = Buffer.concat([text('%PDF-1.7\n'), Buffer.alloc(4000, 0x07), text('\n%%EOF')]);
    expect(await failure(extract(garbled, 'garbled.pdf'))).toBe('corrupt');
  });

  it('says too_large past the page cap', async () => {
    const limits = { ...LIMITS, maxPdfPages: 9 };
    expect(await failure(extract(fixture('multi-page.pdf'), 'book.pdf', limits))).toBe('too_large');
  });
});

describe('extractDocument: DOCX', () => {
  it('turns Word headings into heading paths', async () => {
    const docx = makeDocx([
      { heading: 1, text: 'Field guide' },
      { text: 'How to watch birds without scaring them.' },
      { heading: 2, text: 'Gulls' },
      { text: 'Herring gulls nest on roofs.' },
    ]);
    const doc = await extract(docx, 'guide.docx');
    expect(doc).toMatchObject({ format: 'docx', pages: null });
    const gulls = doc.chunks.find((c) => c.text.includes('Herring gulls nest on roofs.'));
    expect(gulls?.headingPath).toEqual(['Field guide', 'Gulls']);
    expect(gulls?.page).toBeNull();
  });

  it('says too_large for a zip bomb, whether its directory is honest or lies', async () => {
    const bomb = await deflateRepeated(0x20, 100 * 1024 * 1024);
    const honest = makeDocx(
      [],
      [{ name: 'word/document.xml', data: new Uint8Array(0), deflated: bomb }],
    );
    const lying = makeDocx(
      [],
      [{ name: 'word/document.xml', data: new Uint8Array(0), deflated: bomb, declaredSize: 900 }],
    );
    const heapBefore = process.memoryUsage().heapUsed;
    expect(await failure(extract(honest, 'bomb.docx'))).toBe('too_large');
    expect(await failure(extract(lying, 'liar.docx'))).toBe('too_large');
    // The inflating happened in the worker, bounded; this thread only held the 100 KB archive.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  }, 60_000);

  it('says unsupported_format for a plain ZIP and corrupt for a damaged DOCX', async () => {
    const zip = writeZip([{ name: 'notes.txt', data: text('hello') }]);
    expect(await failure(extract(zip, 'notes.zip'))).toBe('unsupported_format');
    const docx = makeDocx([{ text: 'Hello' }]);
    expect(await failure(extract(docx.subarray(0, docx.length - 10), 'cut.docx'))).toBe('corrupt');
  });
});

describe('extractDocument: HTML', () => {
  const page = `<!doctype html><html><head><title>Coast birds</title>
    <script>var trackingScriptText = "do not index me";</script><style>.x{color:red}</style></head>
    <body><nav><a href="/">Home menu link</a> <a href="/shop">Shop menu link</a></nav>
    <article><h1>Gulls of the coast</h1>
    <p>${'Gulls are seabirds that live along the coast and eat fish and chips. '.repeat(8)}</p>
    <h2>Herring gull</h2>
    <p>${'The herring gull is a large grey and white gull of the harbour. '.repeat(8)}</p>
    </article><footer>Copyright footer text</footer></body></html>`;

  it('keeps the main text with its headings, not navigation or scripts', async () => {
    const doc = await extract(text(page), 'page.html');
    expect(doc).toMatchObject({ format: 'html', contentType: 'text/html' });
    const all = doc.chunks.map((c) => c.text).join('\n');
    expect(all).toContain('herring gull is a large grey');
    for (const noise of ['trackingScriptText', 'Home menu link', 'color:red', 'Copyright footer']) {
      expect(all).not.toContain(noise);
    }
    const herring = doc.chunks.find((c) => c.text.includes('harbour'));
    expect(herring?.headingPath.at(-1)).toBe('Herring gull');
  });

  it('reads a legacy page in the charset its <meta> declares, or as Windows-1252', async () => {
    const latin1 = (html: string) => Buffer.from(html, 'latin1');
    const declared = latin1(
      '<html><head><meta charset="iso-8859-1"></head><body><p>Café crème</p>',
    );
    expect((await extract(declared, 'page')).chunks[0]?.text).toBe('Café crème');
    const undeclared = latin1('<!doctype html><p>Déjà vu</p>');
    expect((await extract(undeclared, 'page')).chunks[0]?.text).toBe('Déjà vu');
    const plain = latin1('Señor, plain text');
    expect(await failure(extract(plain, 'a.txt'))).toBe('unsupported_format');
    const withCharset = extract(plain, 'a.txt', LIMITS, 'text/plain; charset=iso-8859-1');
    expect((await withCharset).chunks[0]?.text).toBe('Señor, plain text');
  });

  it('falls back to the body text when there is no article', async () => {
    const doc = await extract(text('<p>Only a short line here.</p><script>bad()</script>'), 'x');
    expect(doc.chunks.map((c) => c.text)).toEqual(['Only a short line here.']);
  });
});

describe('extractDocument: Markdown and text', () => {
  it('chunks Markdown under its headings, in-thread when small', async () => {
    const doc = await extractDocument(
      { bytes: text('\uFEFF# Guide\n\n## Install\n\nRun it.'), fileName: 'guide.md' },
      LIMITS,
    );
    expect(doc.chunks).toEqual([
      {
        index: 0,
        text: '# Guide\n\n## Install\n\nRun it.',
        headingPath: ['Guide', 'Install'],
        page: null,
      },
    ]);
  });

  it('chunks a large Markdown file in the worker', async () => {
    const body = Array.from(
      { length: 400 },
      (_, i) => `## Part ${i}\n\n${'Words of the part. '.repeat(20)}`,
    ).join('\n\n');
    const doc = await extract(text(`# Book\n\n${body}`), 'book.md');
    expect(doc.format).toBe('markdown');
    expect(doc.chunks.at(-1)?.headingPath).toEqual(['Book', 'Part 399']);
  });

  it('says no_text for an empty or blank file, unsupported_format for binary', async () => {
    expect(await failure(extract(new Uint8Array(0), 'empty.txt'))).toBe('no_text');
    expect(await failure(extract(text(' \n\t\n'), 'blank.md'))).toBe('no_text');
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    expect(await failure(extract(png, 'photo.png'))).toBe('unsupported_format');
  });

  it('says corrupt for text that stops being UTF-8 after its head', async () => {
    const bytes = Buffer.concat([Buffer.alloc(70_000, 0x61), Buffer.from([0xff, 0xfe, 0x61])]);
    expect(await failure(extract(bytes, 'log.txt'))).toBe('corrupt');
  });
});

describe('the shared pool', () => {
  it('serves extractDocument without a pool given, and closes and starts again', async () => {
    configureExtractionPool({ size: 1, heapMb: 256 });
    const big = text(`# Big\n\n${'word '.repeat(20_000)}`); // past the in-thread threshold
    const first = await extractDocument({ bytes: big, fileName: 'big.md' }, LIMITS);
    expect(first.chunks.length).toBeGreaterThan(1);
    await closeExtractionPool();
    const again = await extractDocument({ bytes: big, fileName: 'big.md' }, LIMITS);
    expect(again.chunks).toEqual(first.chunks);
    await closeExtractionPool();
  }, 120_000);
});
