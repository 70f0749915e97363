import { ExtractionError } from './types';

/**
 * A text file's content: UTF-8 without its byte order mark. Invalid UTF-8 past the sniffed head
 * is `corrupt` rather than guessed at (Latin-1? Windows-1252?): a wrong guess would be stored and
 * searched as mojibake without anyone noticing, a failure is seen and can be fixed at the source.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    // `ignoreBOM: false` (the default) already drops a leading BOM.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ExtractionError('corrupt', 'The file is not valid UTF-8 text');
  }
}
