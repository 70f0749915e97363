import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test-support/seeded-random';
import {
  type ChunkOptions,
  chunkDocument,
  chunkEmbeddingText,
  type DocumentChunk,
} from './chunker';

/** The invariants every chunking must keep, whatever the input. */
function expectWellFormed(content: string, chunks: DocumentChunk[], targetSize: number): void {
  const covered = new Uint8Array(content.length);
  chunks.forEach((chunk, i) => {
    expect(chunk.index).toBe(i);
    expect(chunk.text).toBe(content.slice(chunk.start, chunk.end));
    expect(chunk.text.trim()).toBe(chunk.text);
    expect(chunk.text.length).toBeGreaterThan(0);
    expect(chunk.text.length).toBeLessThanOrEqual(targetSize);
    if (i > 0) expect(chunk.start).toBeGreaterThan(chunks[i - 1]!.start);
    covered.fill(1, chunk.start, chunk.end);
  });
  const missed: number[] = [];
  for (let i = 0; i < content.length; i++) {
    if (!covered[i] && /\S/.test(content[i]!)) missed.push(i);
  }
  expect(missed).toEqual([]);
}

const WORDS = 'alpha beta gamma delta vector index chunk embedding persona retrieval graph'.split(
  ' ',
);

function randomMarkdown(random: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const sentence = () => {
    const n = 3 + Math.floor(random() * 25);
    const words = Array.from({ length: n }, () => pick(WORDS));
    return `${words.join(' ')}${pick(['.', '!', '?', ';'])}`;
  };
  const parts: string[] = [];
  const blocks = 5 + Math.floor(random() * 40);
  for (let b = 0; b < blocks; b++) {
    const kind = random();
    if (kind < 0.2) parts.push(`${'#'.repeat(1 + Math.floor(random() * 6))} ${pick(WORDS)}`);
    else if (kind < 0.3) parts.push(`\`\`\`ts\n# not a heading\n\n${sentence()}\n\`\`\``);
    else if (kind < 0.35) parts.push('x'.repeat(Math.floor(random() * 3000)));
    else if (kind < 0.4) parts.push(`- ${sentence()}\n- ${sentence()}\n  - ${sentence()}`);
    else parts.push(Array.from({ length: 1 + Math.floor(random() * 12) }, sentence).join(' '));
  }
  return parts.join(random() < 0.5 ? '\n\n' : '\r\n\r\n  ');
}

describe('chunkDocument', () => {
  it('keeps a short plain text whole', () => {
    const chunks = chunkDocument('  Hello there.\n\nSecond paragraph.  \n', {
      contentType: 'text/plain',
    });
    expect(chunks).toEqual([
      {
        index: 0,
        text: 'Hello there.\n\nSecond paragraph.',
        headingPath: [],
        start: 2,
        end: 33,
      },
    ]);
  });

  it('returns no chunks for empty or blank content', () => {
    expect(chunkDocument('', { contentType: 'text/plain' })).toEqual([]);
    expect(chunkDocument(' \n\t\n ', { contentType: 'text/markdown' })).toEqual([]);
  });

  it('cuts markdown at headings and records the heading path', () => {
    const content = [
      'Intro before any heading.',
      '# Guide',
      'Welcome.',
      '## Install',
      'Run npm install.',
      '### On Linux ###',
      'Use apt.',
      '## Use',
      'Call it.',
      '# Reference',
      'All of it.',
    ].join('\n\n');
    const chunks = chunkDocument(content, { contentType: 'text/markdown' });
    expect(chunks.map((c) => [c.headingPath, c.text])).toEqual([
      [[], 'Intro before any heading.'],
      [['Guide'], '# Guide\n\nWelcome.'],
      [['Guide', 'Install'], '## Install\n\nRun npm install.'],
      [['Guide', 'Install', 'On Linux'], '### On Linux ###\n\nUse apt.'],
      [['Guide', 'Use'], '## Use\n\nCall it.'],
      [['Reference'], '# Reference\n\nAll of it.'],
    ]);
  });

  it('folds a bare heading into the section that follows it', () => {
    const content = '# Guide\n\n## Install\n\nRun it.';
    const chunks = chunkDocument(content, { contentType: 'text/markdown' });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.headingPath).toEqual(['Guide', 'Install']);
    expect(chunks[0]!.text).toBe(content);
  });

  it('ignores # lines inside fenced code and does not need a space-less # to be a heading', () => {
    const content = [
      '# Shell',
      '```bash',
      '# install it',
      'npm i',
      '```',
      '~~~',
      '## also not a heading',
      '~~~',
      '#hashtag is text',
    ].join('\n');
    const chunks = chunkDocument(content, { contentType: 'text/markdown' });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.headingPath).toEqual(['Shell']);
  });

  it('treats # as text in plain text', () => {
    const chunks = chunkDocument('# not a heading\n\nbody', { contentType: 'text/plain' });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.headingPath).toEqual([]);
  });

  it('packs paragraphs up to the target size and carries overlap from a word start', () => {
    const paragraph = (n: number) =>
      Array.from({ length: 12 }, (_, i) => `Sentence ${n}.${i} says something useful`).join('. ');
    const content = Array.from({ length: 6 }, (_, n) => paragraph(n)).join('\n\n');
    const opts: ChunkOptions = { contentType: 'text/plain', targetSize: 300, overlap: 60 };
    const chunks = chunkDocument(content, opts);
    expectWellFormed(content, chunks, 300);
    expect(chunks.length).toBeGreaterThan(content.length / 300);
    for (let i = 1; i < chunks.length; i++) {
      const shared = chunks[i - 1]!.end - chunks[i]!.start;
      expect(shared).toBeGreaterThan(0);
      expect(shared).toBeLessThanOrEqual(60);
      expect(content[chunks[i]!.start - 1]).toMatch(/\s/);
    }
  });

  it('has no overlap when asked for none', () => {
    const content = Array.from({ length: 200 }, (_, i) => `Word${i}.`).join(' ');
    const chunks = chunkDocument(content, {
      contentType: 'text/plain',
      targetSize: 100,
      overlap: 0,
    });
    expectWellFormed(content, chunks, 100);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.start).toBeGreaterThanOrEqual(chunks[i - 1]!.end);
    }
  });

  it('hard-splits a single giant word without cutting a surrogate pair', () => {
    const content = `start ${'😀'.repeat(100)} end`;
    const chunks = chunkDocument(content, {
      contentType: 'text/plain',
      targetSize: 33,
      overlap: 5,
    });
    expectWellFormed(content, chunks, 33);
    for (const chunk of chunks) {
      expect(chunk.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });

  it('splits a long code block by lines, not by sentences', () => {
    const code = Array.from({ length: 40 }, (_, i) => `const v${i} = a.b. c(${i});`).join('\n');
    const content = `# Code\n\n\`\`\`ts\n${code}\n\`\`\``;
    const chunks = chunkDocument(content, { contentType: 'text/markdown', targetSize: 200 });
    expectWellFormed(content, chunks, 200);
    for (const chunk of chunks.slice(1)) {
      // Cut at line ends, and the carried overlap also starts at a line start.
      expect(content[chunk.start - 1]).toBe('\n');
      expect(content[chunk.end] ?? '\n').toBe('\n');
    }
    expect(chunks.every((c) => c.headingPath[0] === 'Code')).toBe(true);
  });

  it('keeps every non-whitespace character across random markdown documents', () => {
    const random = seededRandom(42);
    for (let doc = 0; doc < 150; doc++) {
      const content = randomMarkdown(random);
      const targetSize = 40 + Math.floor(random() * 900);
      const overlap = Math.floor(random() * (targetSize / 2));
      for (const contentType of ['text/markdown', 'text/plain'] as const) {
        const chunks = chunkDocument(content, { contentType, targetSize, overlap });
        expectWellFormed(content, chunks, targetSize);
      }
    }
  });

  it('refuses options that cannot work', () => {
    expect(() => chunkDocument('x', { contentType: 'text/plain', targetSize: 4 })).toThrow(
      RangeError,
    );
    expect(() =>
      chunkDocument('x', { contentType: 'text/plain', targetSize: 100, overlap: 80 }),
    ).toThrow(/overlap/);
    expect(() => chunkDocument('x', { contentType: 'text/plain', overlap: -1 })).toThrow(
      RangeError,
    );
  });
});

describe('chunkEmbeddingText', () => {
  it('prefixes the heading path so later chunks of a section keep its context', () => {
    expect(chunkEmbeddingText({ text: 'Use apt.', headingPath: ['Guide', 'Install'] })).toBe(
      'Guide > Install\n\nUse apt.',
    );
    expect(chunkEmbeddingText({ text: 'Plain.', headingPath: [] })).toBe('Plain.');
  });
});
