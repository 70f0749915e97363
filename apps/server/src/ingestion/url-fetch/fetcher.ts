/**
 * Fetching a document on a user's behalf with Node's own http/https clients (no dependency), so
 * that connecting goes through `guardedLookup`: the address connected is the address judged, on
 * the first URL and on every redirect, which are followed here one by one rather than by the
 * client.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { allowListOf } from './allow-list';
import { fileNameOf, mediaTypeOf } from './document-naming';
import { checkLiteralHost, guardedLookup, systemResolveHost } from './guarded-lookup';
import { bareHostname, parseTargetUrl } from './target-url';
import { type FetchedDocument, UrlFetchError, type UrlFetchOptions } from './types';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches the document, checking the address actually connected and every redirect (at most
 * `maxRedirects`, default 5). The time cap covers the whole fetch, body included; the size cap is
 * counted on the bytes as they arrive (after decoding, should a server compress despite being
 * asked not to). Throws `UrlFetchError`; when the caller's `signal` aborts, its reason.
 */
export async function fetchDocumentUrl(
  url: string,
  opts: UrlFetchOptions,
  signal?: AbortSignal,
): Promise<FetchedDocument> {
  const allowList = allowListOf(opts.allowHosts);
  const lookup = guardedLookup(allowList, opts.resolveHost ?? systemResolveHost);
  const maxRedirects = opts.maxRedirects ?? 5;
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const aborted = signal ? AbortSignal.any([deadline, signal]) : deadline;
  try {
    let target = parseTargetUrl(url);
    for (let redirects = 0; ; redirects++) {
      checkLiteralHost(target, allowList);
      const response = await send(target, lookup, aborted);
      const status = response.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        response.destroy();
        const location = response.headers.location;
        if (!location) {
          throw new UrlFetchError(
            'fetch_failed',
            `HTTP ${status} without a Location from ${target}`,
          );
        }
        if (redirects >= maxRedirects) {
          throw new UrlFetchError(
            'fetch_failed',
            `More than ${maxRedirects} redirects from ${url}`,
          );
        }
        target = parseTargetUrl(location, target);
        continue;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        throw new UrlFetchError('fetch_failed', `HTTP ${status} from ${target}`);
      }
      const bytes = await readBody(response, opts.maxBytes, aborted);
      return {
        bytes,
        url: target.href,
        contentType: mediaTypeOf(response.headers['content-type']),
        fileName: fileNameOf(target),
      };
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.aborted) {
      throw new UrlFetchError(
        'fetch_failed',
        `Fetching ${url} took longer than ${opts.timeoutMs} ms`,
      );
    }
    if (error instanceof UrlFetchError) throw error;
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    throw new UrlFetchError(
      'fetch_failed',
      `${typeof code === 'string' ? `${code}: ` : ''}${message}`,
    );
  }
}

/** One GET, answered with its response head; the body is left to the caller. */
function send(target: URL, lookup: LookupFunction, signal: AbortSignal): Promise<IncomingMessage> {
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        protocol: target.protocol,
        hostname: bareHostname(target),
        port: target.port === '' ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: {
          accept: '*/*',
          // Compressed bodies would make the size cap count the wrong bytes (and a small gzip
          // can expand a thousandfold): ask for none, and bound decoding if one comes anyway.
          'accept-encoding': 'identity',
          'user-agent': 'Personas document fetcher',
        },
        // A fresh agent per hop: no pooled socket (connected for another host, or before a DNS
        // change) is ever reused, and no environment proxy settings are picked up.
        agent: false,
        lookup,
        signal,
      },
      resolve,
    );
    request.on('error', reject);
    request.end();
  });
}

async function readBody(
  response: IncomingMessage,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge(maxBytes);
  }
  const body = decoded(response);
  addAbortSignal(signal, body);
  const chunks: Buffer[] = [];
  let received = 0;
  // Leaving the loop early (too large, aborted) destroys the stream, and with it the connection.
  for await (const chunk of body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks, received));
}

/** The body as sent, or decoded when a server compressed it despite `identity`. */
function decoded(response: IncomingMessage): Readable {
  const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder =
    encoding === 'identity' || encoding === ''
      ? null
      : encoding === 'gzip' || encoding === 'x-gzip'
        ? createGunzip()
        : encoding === 'deflate'
          ? createInflate()
          : encoding === 'br'
            ? createBrotliDecompress()
            : undefined;
  if (decoder === undefined) {
    response.destroy();
    throw new UrlFetchError('fetch_failed', `Unsupported Content-Encoding: ${encoding}`);
  }
  if (decoder === null) return response;
  // Errors of either side destroy both; the reader sees them on the decoder.
  return pipeline(response, decoder, () => {});
}

function tooLarge(maxBytes: number): UrlFetchError {
  return new UrlFetchError('too_large', `The document is larger than ${maxBytes} bytes`);
}
