import { ExtractionError } from './types';

/** The `charset` parameter of a media type (`text/html; charset=ISO-8859-1`), lower-cased. */
export function declaredCharset(declaredType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(declaredType ?? '');
  return match?.[1]?.toLowerCase();
}

/** A `<meta charset>` (or `http-equiv` content type) in the first KiB of an HTML page. */
export function metaCharset(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .subarray(0, 1024)
    .toString('latin1');
  const match = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  return match?.[1]?.toLowerCase();
}

/** A decoder for `label` when it names an encoding other than UTF-8 that Node knows; else null. */
export function legacyDecoder(label: string | undefined): InstanceType<typeof TextDecoder> | null {
  if (!label) return null;
  try {
    const decoder = new TextDecoder(label);
    return decoder.encoding === 'utf-8' ? null : decoder;
  } catch {
    return null;
  }
}

/**
 * A text file's content, without its byte order mark. A charset the client declared (or, for
 * HTML, the page's `<meta charset>`) is honoured; otherwise the bytes must be UTF-8. HTML that
 * is not falls back to Windows-1252, as browsers do for legacy pages; other text that is not is
 * `corrupt` rather than guessed at, because a wrong guess would be stored and searched as
 * mojibake without anyone noticing, while a failure is seen and fixed at the source.
 */
export function decodeText(
  bytes: Uint8Array,
  opts: { declaredType?: string; html?: boolean } = {},
): string {
  const label = declaredCharset(opts.declaredType) ?? (opts.html ? metaCharset(bytes) : undefined);
  const legacy = legacyDecoder(label);
  if (legacy) return legacy.decode(bytes);
  try {
    // `ignoreBOM: false` (the default) already drops a leading BOM.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if (opts.html) return new TextDecoder('windows-1252').decode(bytes);
    throw new ExtractionError('corrupt', 'The file is not valid UTF-8 text');
  }
}
