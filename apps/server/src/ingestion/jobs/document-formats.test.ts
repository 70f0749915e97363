/**
 * Documents as people have them, through the upload route as a client sends them (multipart, one
 * `file`): a PDF's sentence found with its page, a DOCX's headings, an HTML page's main text —
 * and the bad files, each failing with the contract's code (or refused at once), storing nothing
 * searchable and leaving the collection as it was.
 */
import { readFileSync } from 'node:fs';
import type { Collection, CollectionDocument, RagHit } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../../test-support/actors';
import { startTestApp, type TestApp } from '../../test-support/test-app';
import { makeDocx } from '../extraction/fixtures/docx';
import { PAGE_SEVEN_SENTENCE } from '../extraction/fixtures/pdf';
import { deflateRepeated } from '../extraction/fixtures/zip-writer';

const COLLECTION = 'handbook';
const fixture = (name: string) =>
  readFileSync(new URL(`../extraction/fixtures/${name}`, import.meta.url));

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  // A low expansion cap, so the zip bomb below is small to build.
  t = await startTestApp({ ...TEST_ADMIN_ENV, MAX_DOCUMENT_EXPANDED_BYTES: String(8 << 20) });
  const admin = await adminActor(t);
  owner = await createActor(t, admin.token, 'builder');
  const created = await t.api('POST', '/collections', {
    token: owner.token,
    body: { name: COLLECTION },
  });
  expect(created.status).toBe(200);
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

/** A multipart upload as `curl -F file=@name` sends it, waiting for the outcome. */
async function uploadFile(name: string, bytes: Uint8Array, type = 'application/octet-stream') {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type }), name);
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  const res = await t.app.http.inject({
    method: 'POST',
    url: `/api/collections/${COLLECTION}/documents?wait=60`,
    headers: {
      authorization: `Bearer ${owner.token}`,
      'content-type': request.headers.get('content-type') ?? '',
    },
    payload: Buffer.from(await request.arrayBuffer()),
  });
  return { status: res.statusCode, body: res.json() as CollectionDocument & { reason?: string } };
}

async function search(query: string) {
  const res = await t.api<{ hits: RagHit[] }>('POST', `/collections/${COLLECTION}/search`, {
    token: owner.token,
    body: { query, top_k: 20 },
  });
  expect(res.status).toBe(200);
  return res.body.hits;
}

async function collectionState() {
  const res = await t.api<Collection>('GET', `/collections/${COLLECTION}`, { token: owner.token });
  const hits = await search('lighthouse keeper gulls dawn chapter');
  return {
    documents: res.body.documents,
    chunks: res.body.chunks,
    hits: hits.map((h) => h.document_string),
  };
}

describe('good files', () => {
  it('finds the sentence on page 7 of a PDF, with page 7 on the hit', async () => {
    const pdf = fixture('multi-page.pdf');
    const { status, body } = await uploadFile('report.pdf', pdf, 'application/pdf');
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: 'ready', content_type: 'application/pdf', pages: 10 });
    const hits = await search(PAGE_SEVEN_SENTENCE);
    const hit = hits.find((h) => h.document_string.includes(PAGE_SEVEN_SENTENCE));
    expect(hit).toMatchObject({ file_name: 'report.pdf', page: 7, document_id: body.document_id });
  });

  it('keeps the headings of a DOCX as heading paths', async () => {
    const docx = makeDocx([
      { heading: 1, text: 'Harbour rules' },
      { heading: 2, text: 'Mooring' },
      { text: 'Boats moor bow first at the eastern pontoon after dusk.' },
    ]);
    const { status, body } = await uploadFile('rules.docx', docx);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ready');
    const hit = (await search('moor bow eastern pontoon')).find(
      (h) => h.file_name === 'rules.docx',
    );
    expect(hit?.document_string).toContain('Boats moor bow first');
    expect(hit?.document_string).toContain('Mooring');
  });

  it('reads the main text of an HTML page, not its navigation or scripts', async () => {
    const html = `<!doctype html><html><head><title>Tides</title><script>var secretToken = "nav-script";</script></head>
      <body><nav><a href="/">Home</a> <a href="/shop">Shop navigation link</a></nav>
      <article><h1>Tide tables</h1><p>${'The spring tide peaks two hours after the full moon rises over the bay. '.repeat(8)}</p></article>
      <footer>Copyright footer text</footer></body></html>`;
    const { status, body } = await uploadFile('tides.html', Buffer.from(html), 'text/html');
    expect(status, JSON.stringify(body)).toBe(200);
    const texts = (await search('spring tide full moon')).map((h) => h.document_string).join('\n');
    expect(texts).toContain('spring tide peaks');
    expect(texts).not.toContain('secretToken');
    expect(texts).not.toContain('Shop navigation link');
  });
});

describe('a large document', () => {
  it('is found through the process that answered ready, at once (read your own writes)', async () => {
    const paragraph = 'Cargo manifests are filed with the harbour office before departure. '.repeat(
      6,
    );
    const sections = Array.from({ length: 2500 }, (_, i) =>
      i === 2000
        ? '## Berths\n\nThe quillifish berth is reserved for the lifeboat.'
        : `## Section ${i}\n\n${paragraph}`,
    );
    const { status, body } = await uploadFile(
      'manifests.md',
      Buffer.from(sections.join('\n\n')),
      'text/markdown',
    );
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.chunks).toBeGreaterThan(2000);
    const [first] = await search('quillifish berth lifeboat');
    expect(first?.document_string).toContain('quillifish berth');
  });
});

describe('bad files: a clear error, nothing searchable, the collection as it was', () => {
  const failures: [string, () => Promise<Uint8Array>, string][] = [
    ['an encrypted PDF', async () => fixture('encrypted.pdf'), 'encrypted'],
    ['a PDF with no text layer', async () => fixture('no-text.pdf'), 'no_text'],
    [
      'a truncated PDF',
      async () => {
        const pdf = fixture('multi-page.pdf');
        return pdf.subarray(0, Math.floor(pdf.length / 2));
      },
      'corrupt',
    ],
    [
      'a DOCX whose entries expand past the cap',
      async () => {
        const bomb = await deflateRepeated(0x20, 64 << 20);
        return makeDocx(
          [],
          [{ name: 'word/document.xml', data: new Uint8Array(0), deflated: bomb }],
        );
      },
      'too_large',
    ],
  ];

  it.each(failures)('%s fails with its code', async (_name, make, code) => {
    const before = await collectionState();
    const { status, body } = await uploadFile('bad.bin', await make());
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: 'failed', error: { code }, chunks: 0 });
    expect(body.error?.detail).toEqual(expect.any(String));
    expect(await collectionState()).toEqual(before);
  });

  it('refuses at once, storing nothing, a file that is none of the formats and an empty one', async () => {
    const before = await collectionState();
    const listed = async () =>
      (
        await t.api<{ documents: CollectionDocument[] }>(
          'GET',
          `/collections/${COLLECTION}/documents`,
          { token: owner.token },
        )
      ).body.documents.length;
    const documentsBefore = await listed();

    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const unsupported = await uploadFile('picture.png', png, 'image/png');
    expect(unsupported.status).toBe(415);
    expect(unsupported.body).toMatchObject({ reason: 'unsupported_format' });

    const empty = await uploadFile('empty.txt', new Uint8Array(0), 'text/plain');
    expect(empty.status).toBe(400);

    expect(await listed()).toBe(documentsBefore);
    expect(await collectionState()).toEqual(before);
  });
});
