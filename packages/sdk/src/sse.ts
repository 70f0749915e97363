import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One server-sent event: its `event:` name (`message` when absent) and its `data:` lines joined. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads `text/event-stream` frames from a response body. The parsing is eventsource-parser's
 * (3.x: 4.x requires Node 22.12, and this package supports Node 20): lines end with LF, CRLF or
 * CR; `data:` lines join with LF; `:` lines are comments; a blank line dispatches; an event
 * without data is skipped, and one the body ends before dispatching is dropped. `id` is the last
 * id the stream has sent, as the HTML standard's last event ID. Returning early (a `break` in
 * `for await`) cancels the body, which closes the request.
 *
 * @example
 * for await (const message of readServerSentEvents(response.body)) console.log(message.event)
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parsed: SseMessage[] = [];
  let lastId: string | undefined;
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (message.id !== undefined) lastId = message.id;
      const event = message.event ?? 'message';
      parsed.push(
        lastId === undefined
          ? { event, data: message.data }
          : { event, data: message.data, id: lastId },
      );
    },
  });
  let lastChar = '';
  let finished = false;

  function feed(text: string) {
    if (!text) return;
    parser.feed(text);
    lastChar = text.at(-1) ?? '';
  }

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }));
      yield* parsed.splice(0);
    }
    feed(decoder.decode());
    // The parser holds back a CR that ends its input, in case an LF follows; at the end of the
    // body it is a line end, and making it a CRLF lets the parser see it as one.
    if (lastChar === '\r') parser.feed('\n');
    yield* parsed.splice(0);
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
