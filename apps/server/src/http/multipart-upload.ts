import type { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import { BadRequestError, PayloadTooLargeError } from '@personas/contracts';

/** A multipart upload as the route reads it: the one file, and the text fields beside it. */
export interface MultipartUpload {
  file: { bytes: Buffer; fileName: string; mediaType: string };
  fields: Record<string, string>;
}

const FIELDS = new Set(['doc_path', 'file_name', 'attributes']);
/** Bounds the form besides the file: its fields are short texts. */
const FIELD_BYTES = 64 * 1024;

/**
 * Reads a `multipart/form-data` body from the stream Fastify hands a content-type parser (already
 * counted against the route's body limit): exactly one `file` part, at most `fileLimit` bytes —
 * refused the moment it passes them — and the optional text fields. Anything else is a 400.
 */
export function readMultipartUpload(
  payload: Readable,
  headers: Record<string, string | string[] | undefined>,
  fileLimit: number,
): Promise<MultipartUpload> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      payload.unpipe();
      payload.resume(); // drain what is left (the connection closes with the answer)
      reject(error);
    };
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: headers as { 'content-type': string },
        limits: { fileSize: fileLimit, files: 1, fields: FIELDS.size, fieldSize: FIELD_BYTES },
      });
    } catch (error) {
      reject(new BadRequestError(`Malformed multipart body: ${(error as Error).message}`));
      return;
    }
    let file: MultipartUpload['file'] | null = null;
    let reading: Promise<void> = Promise.resolve();
    const fields: Record<string, string> = {};
    parser.on('file', (name, stream, fileName, _encoding, mediaType) => {
      if (name !== 'file') {
        stream.resume();
        fail(new BadRequestError(`Unexpected file part "${name}": send the file as "file"`));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () =>
        fail(
          new PayloadTooLargeError(`The file is larger than ${fileLimit} bytes`, {
            reason: 'too_large',
          }),
        ),
      );
      reading = new Promise((done) => {
        stream.on('end', () => {
          file = { bytes: Buffer.concat(chunks), fileName, mediaType };
          done();
        });
      });
    });
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (!FIELDS.has(name)) {
        fail(
          new BadRequestError(
            `Unknown field "${name}": the form takes file, doc_path, file_name and attributes`,
          ),
        );
      } else if (valueTruncated) {
        fail(new BadRequestError(`The field "${name}" is too long`));
      } else fields[name] = value;
    });
    parser.on('filesLimit', () => fail(new BadRequestError('Send one file per upload')));
    parser.on('fieldsLimit', () => fail(new BadRequestError('Too many fields in the form')));
    parser.on('error', (error) =>
      fail(new BadRequestError(`Malformed multipart body: ${(error as Error).message}`)),
    );
    parser.on('finish', () => {
      void reading.then(() => {
        if (settled) return;
        if (!file) return fail(new BadRequestError('The form has no "file" part'));
        settled = true;
        resolve({ file, fields });
      });
    });
    payload.on('error', (error) => fail(error));
    payload.pipe(parser);
  });
}
