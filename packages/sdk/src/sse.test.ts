import { describe, expect, it } from 'vitest';
import { readServerSentEvents, type SseMessage } from './sse';

/** A body that delivers `text` as the given byte chunks (split anywhere, even inside a char). */
function bodyOf(text: string, splitEvery = Number.POSITIVE_INFINITY) {
  const bytes = new TextEncoder().encode(text);
  let cancelled = false;
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + splitEvery));
      offset += splitEvery;
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function readAll(text: string, splitEvery?: number): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const m of readServerSentEvents(bodyOf(text, splitEvery).stream)) messages.push(m);
  return messages;
}

describe('readServerSentEvents', () => {
  const wire =
    ': a comment\n' +
    'event: meta\ndata: {"a":1}\n\n' +
    'event: token\r\ndata: {"text":"Grüße, 世界"}\r\n\r\n' +
    'data: line one\ndata:line two\n\n' +
    'event: done\rdata: {}\r\r';
  const expected: SseMessage[] = [
    { event: 'meta', data: '{"a":1}' },
    { event: 'token', data: '{"text":"Grüße, 世界"}' },
    { event: 'message', data: 'line one\nline two' },
    { event: 'done', data: '{}' },
  ];

  it('parses events, names, multi-line data and comments with LF, CRLF and CR line ends', async () => {
    expect(await readAll(wire)).toEqual(expected);
  });

  it('gives the same events however the bytes are split (inside a CRLF or a character)', async () => {
    for (const size of [1, 2, 3, 5, 7, 13]) {
      expect(await readAll(wire, size)).toEqual(expected);
    }
  });

  it('drops an event that the stream ends before dispatching, and events without data', async () => {
    expect(await readAll('event: ping\n\nevent: meta\ndata: {}\n\nevent: done\ndata: {}')).toEqual([
      { event: 'meta', data: '{}' },
    ]);
  });

  it('drops an event whose blank line never comes, however its last line ends', async () => {
    for (const end of ['\n', '\r', '\r\n']) {
      expect(await readAll(`data: 1\n\ndata: 2${end}`)).toEqual([{ event: 'message', data: '1' }]);
    }
  });

  it('keeps the last id, on later events too, and ignores an id with a NUL', async () => {
    expect(await readAll('id: 7\ndata: x\n\ndata: y\n\nid: 8\u0000\ndata: z\n\n')).toEqual([
      { event: 'message', data: 'x', id: '7' },
      { event: 'message', data: 'y', id: '7' },
      { event: 'message', data: 'z', id: '7' },
    ]);
  });

  it('skips a byte-order mark before the first field', async () => {
    expect(await readAll('\uFEFFevent: meta\ndata: {}\n\n', 1)).toEqual([
      { event: 'meta', data: '{}' },
    ]);
  });

  it('cancels the body when the reader stops early', async () => {
    const body = bodyOf('data: 1\n\ndata: 2\n\ndata: 3\n\n', 4);
    for await (const m of readServerSentEvents(body.stream)) {
      expect(m.data).toBe('1');
      break;
    }
    expect(body.cancelled()).toBe(true);
  });
});
