import type { Socket } from 'node:net';
import { errorBody } from './error-body';

/** What Node's HTTP parser refuses before Fastify sees a request, as a status and a detail. */
function describe(error: NodeJS.ErrnoException): { status: number; detail: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, detail: 'Request headers are larger than the server accepts' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, detail: 'The request was not received in time' };
    default:
      return { status: 400, detail: 'Malformed HTTP request' };
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Fastify's `clientErrorHandler`: a header flood (431), a request not received in time (408) or
 * a malformed request answers in the error shape every route uses, then the socket closes.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, detail } = describe(error);
  const code = status === 408 ? 'TIMEOUT' : 'BAD_REQUEST';
  const body = JSON.stringify(errorBody(code, detail));
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
