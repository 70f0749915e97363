import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DimensionMismatchError } from '../../retrieval/vector/errors';
import { rejectionOf } from '../../test-support/rejection';
import { EmbeddingTimeoutError, EmbeddingUpstreamError } from './errors';
import { createHuggingFaceEmbedder } from './huggingface-embedder';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

type Reply =
  | { kind: 'vectors'; dims: number; shape?: 'batch' | 'flat' | 'tokens' }
  | { kind: 'status'; status: number; body: string; contentType: string }
  | { kind: 'hang' };

/**
 * A fake text-embeddings-inference server: vector i of a batch is [len(text), i + 1, 1, 1, …].
 * Emits `request` as each one arrives.
 */
class FakeEmbeddingServer extends EventEmitter<{ request: [Received] }> {
  readonly requests: Received[] = [];
  reply: Reply = { kind: 'vectors', dims: 4 };
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
      });
      req.on('end', () => {
        const body = JSON.parse(raw) as { inputs: string[] };
        const received = { method: req.method!, path: req.url!, headers: req.headers, body };
        this.requests.push(received);
        this.emit('request', received);
        const reply = this.reply;
        if (reply.kind === 'hang') return;
        if (reply.kind === 'status') {
          res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.body);
          return;
        }
        const vector = (text: string, i: number) =>
          Array.from({ length: reply.dims }, (_, d) =>
            d === 0 ? text.length : d === 1 ? i + 1 : 1,
          );
        const vectors = body.inputs.map(vector);
        const payload =
          reply.shape === 'flat'
            ? vectors[0]
            : reply.shape === 'tokens'
              ? vectors.map((v) => [v, v.map((x) => x + 2)])
              : vectors;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const norm = (v: number[]) => Math.hypot(...v);

describe('createHuggingFaceEmbedder against a local feature-extraction server', () => {
  const fake = new FakeEmbeddingServer();
  let base = '';

  beforeAll(async () => {
    base = await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.reply = { kind: 'vectors', dims: 4 };
  });

  it('POSTs {inputs} to the endpoint URL with the token, and returns unit vectors', async () => {
    const embedder = createHuggingFaceEmbedder({
      model: 'sentence-transformers/all-MiniLM-L6-v2',
      endpointUrl: `${base}/embed`,
      token: 'hf_secret',
    });
    expect(embedder.dimensions).toBe(0);
    const vectors = await embedder.embed(['hello', 'hi']);

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/embed');
    expect(request!.body).toEqual({ inputs: ['hello', 'hi'] });
    expect(request!.headers.authorization).toBe('Bearer hf_secret');
    expect(request!.headers['content-type']).toBe('application/json');

    expect(embedder.dimensions).toBe(4);
    expect(vectors).toHaveLength(2);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 12);
    // [5, 1, 1, 1] and [2, 2, 1, 1], normalized: order and content survive the round trip.
    expect(vectors[0]![0]! / vectors[0]![1]!).toBeCloseTo(5, 10);
    expect(vectors[1]![0]! / vectors[1]![1]!).toBeCloseTo(1, 10);
  });

  it('sends no Authorization header without a token, and uses a custom fetch', async () => {
    const urls: string[] = [];
    const embedder = createHuggingFaceEmbedder({
      model: 'm',
      endpointUrl: `${base}/`,
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    await embedder.embed(['x']);
    expect(fake.requests[0]!.headers.authorization).toBeUndefined();
    expect(urls).toEqual([`${base}/`]);
  });

  it('batches: 70 texts at batch size 32 are 3 requests, answers kept in order', async () => {
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base, batchSize: 32 });
    const texts = Array.from({ length: 70 }, (_, i) => 'x'.repeat(i + 1));
    const vectors = await embedder.embed(texts);
    expect(fake.requests.map((r) => (r.body as { inputs: string[] }).inputs.length)).toEqual([
      32, 32, 6,
    ]);
    expect(vectors).toHaveLength(70);
    // Vector k is [len, position-in-batch + 1, 1, 1]: recover the text length from it.
    vectors.forEach((v, k) => {
      expect(Math.round((v[0]! / v[2]!) * 1000) / 1000).toBe(k + 1);
    });
  });

  it('sends nothing for no texts', async () => {
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base });
    expect(await embedder.embed([])).toEqual([]);
    expect(fake.requests).toHaveLength(0);
  });

  it('accepts a flat vector for a single input', async () => {
    fake.reply = { kind: 'vectors', dims: 3, shape: 'flat' };
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base, dimensions: 3 });
    const [v] = await embedder.embed(['abc']);
    expect(v).toHaveLength(3);
    expect(norm(v!)).toBeCloseTo(1, 12);
  });

  it('mean-pools token-level output', async () => {
    fake.reply = { kind: 'vectors', dims: 2, shape: 'tokens' };
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base });
    // Tokens [4, 1] and [6, 3] → mean [5, 2].
    const [v] = await embedder.embed(['abcd']);
    expect(v![0]! / v![1]!).toBeCloseTo(2.5, 10);
  });

  it('turns an HTTP 500 into a BAD_GATEWAY error naming the model', async () => {
    fake.reply = {
      kind: 'status',
      status: 500,
      body: '{"error":"CUDA out of memory"}',
      contentType: 'application/json',
    };
    const embedder = createHuggingFaceEmbedder({ model: 'my-model', endpointUrl: base });
    const error = await rejectionOf(embedder.embed(['x']));
    expect(error).toBeInstanceOf(EmbeddingUpstreamError);
    expect((error as EmbeddingUpstreamError).code).toBe('BAD_GATEWAY');
    expect((error as Error).message).toMatch(/my-model.*HTTP 500.*CUDA out of memory/);
  });

  it('does not retry a 503 (the client would otherwise retry forever)', async () => {
    fake.reply = { kind: 'status', status: 503, body: 'loading', contentType: 'text/plain' };
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base });
    const error = await rejectionOf(embedder.embed(['x']));
    expect((error as EmbeddingUpstreamError).code).toBe('BAD_GATEWAY');
    expect(fake.requests).toHaveLength(1);
  });

  it('turns bad JSON, non-JSON and the wrong number of vectors into BAD_GATEWAY', async () => {
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base });
    const replies: Reply[] = [
      { kind: 'status', status: 200, body: '{"not json', contentType: 'application/json' },
      { kind: 'status', status: 200, body: 'plain words', contentType: 'text/plain' },
      { kind: 'status', status: 200, body: '[[1,2],[3,4]]', contentType: 'application/json' },
      { kind: 'status', status: 200, body: '{"embeddings":[]}', contentType: 'application/json' },
      { kind: 'status', status: 200, body: '[[1,"x"]]', contentType: 'application/json' },
    ];
    for (const reply of replies) {
      fake.reply = reply;
      const error = await rejectionOf(embedder.embed(['a', 'b', 'c']));
      expect(error, JSON.stringify(reply)).toBeInstanceOf(EmbeddingUpstreamError);
      expect((error as EmbeddingUpstreamError).code).toBe('BAD_GATEWAY');
    }
  });

  it('turns a server that never answers into GATEWAY_TIMEOUT naming the model', async () => {
    fake.reply = { kind: 'hang' };
    const embedder = createHuggingFaceEmbedder({
      model: 'slow-model',
      endpointUrl: base,
      timeoutMs: 150,
    });
    const error = await rejectionOf(embedder.embed(['x']));
    expect(error).toBeInstanceOf(EmbeddingTimeoutError);
    expect((error as EmbeddingTimeoutError).code).toBe('GATEWAY_TIMEOUT');
    expect((error as Error).message).toContain('slow-model');
  });

  it('rejects with the caller’s reason when the caller aborts', async () => {
    fake.reply = { kind: 'hang' };
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base });
    const controller = new AbortController();
    const arrived = once(fake, 'request', { signal: AbortSignal.timeout(10_000) });
    const pending = rejectionOf(embedder.embed(['x'], { signal: controller.signal }));
    // Abort only once the request is at the server, so it is the in-flight call that is cut.
    await arrived;
    controller.abort(new Error('client disconnected'));
    const error = await pending;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('client disconnected');
  });

  it('refuses vectors of the wrong size with BAD_REQUEST', async () => {
    fake.reply = { kind: 'vectors', dims: 4 };
    const configured = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base, dimensions: 8 });
    const error = await rejectionOf(configured.embed(['x']));
    expect(error).toBeInstanceOf(DimensionMismatchError);
    expect((error as DimensionMismatchError).code).toBe('BAD_REQUEST');
    expect((error as Error).message).toContain('expected 8 dimensions, got 4');

    const learned = createHuggingFaceEmbedder({ model: 'm', endpointUrl: base });
    await learned.embed(['x']);
    fake.reply = { kind: 'vectors', dims: 5 };
    const drift = await rejectionOf(learned.embed(['y']));
    expect((drift as DimensionMismatchError).code).toBe('BAD_REQUEST');
  });

  it('turns a refused connection into BAD_GATEWAY', async () => {
    const closed = new FakeEmbeddingServer();
    const url = await closed.start();
    await closed.stop();
    const embedder = createHuggingFaceEmbedder({ model: 'm', endpointUrl: url });
    const error = await rejectionOf(embedder.embed(['x']));
    expect(error).toBeInstanceOf(EmbeddingUpstreamError);
    expect((error as Error).message).toMatch(/could not be reached/);
  });

  it('refuses nonsense options', () => {
    expect(() => createHuggingFaceEmbedder({ model: 'm', batchSize: 0 })).toThrow(RangeError);
    expect(() => createHuggingFaceEmbedder({ model: 'm', timeoutMs: 0 })).toThrow(RangeError);
    expect(() => createHuggingFaceEmbedder({ model: 'm', dimensions: -3 })).toThrow(RangeError);
  });
});
