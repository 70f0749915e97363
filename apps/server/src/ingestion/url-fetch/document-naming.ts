/** The media type of a `Content-Type` header without its parameters; null when absent. */
export function mediaTypeOf(header: string | undefined): string | null {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type ? type : null;
}

/**
 * A name for a fetched document: the last non-empty path segment, decoded (`/docs/My%20Notes.pdf`
 * → `My Notes.pdf`), else the host. Separators and control characters a decoded segment may hold
 * are replaced, so the name never reads as a path.
 */
export function fileNameOf(url: URL): string {
  const segment = url.pathname.split('/').findLast((s) => s !== '');
  if (segment === undefined) return url.hostname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const safe = decoded.replace(/[/\\\u0000-\u001f\u007f]/g, '_').trim();
  return safe === '' || safe === '.' || safe === '..' ? url.hostname : safe;
}
