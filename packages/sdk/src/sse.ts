/** One server-sent event: its `event:` name (`message` when absent) and its `data:` lines joined. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads `text/event-stream` frames from a response body, as the HTML standard parses them: lines
 * end with LF, CRLF or CR; `data:` lines join with LF; one leading space after the colon is
 * dropped; `:` lines are comments; a blank line dispatches; an event without data is skipped.
 * Returning early (a `break` in `for await`) cancels the body, which closes the request.
 *
 * @example
 * for await (const message of readServerSentEvents(response.body)) console.log(message.event)
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let finished = false;

  function* takeLines(final: boolean): Generator<SseMessage> {
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end === -1) break;
      // A CR at the very end of the buffer may be the first half of a CRLF still on its way.
      if (buffer[end] === '\r' && end === buffer.length - 1 && !final) break;
      const line = buffer.slice(0, end);
      const skip = buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1;
      buffer = buffer.slice(end + skip);
      if (line === '') {
        if (data.length > 0) {
          yield id === undefined
            ? { event: event || 'message', data: data.join('\n') }
            : { event: event || 'message', data: data.join('\n'), id };
        }
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      yield* takeLines(false);
    }
    buffer += decoder.decode();
    // An event not followed by a blank line is incomplete and, as the standard says, dropped.
    yield* takeLines(true);
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
