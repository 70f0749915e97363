import type { Socket } from 'node:net';
import { STATUS_TITLES } from '@personas/contracts';
import { errorBody, PROBLEM_CONTENT_TYPE } from './error-body';

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
  // A problem body like every other error: the status it is sent with, not its code's default.
  const body = JSON.stringify(errorBody(code, detail, { status }));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TITLES[status]}\r\n` +
      'Connection: close\r\n' +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
