// The chat through REST with nothing but fetch: the routes and bodies are those of /openapi.json.
//
//   PERSONAS_URL=http://127.0.0.1:3000 PERSONAS_TOKEN=… PERSONA_ID=… \
//     node --import tsx examples/chat-with-fetch.ts "How long is green tea brewed?"
import { readExampleConfig } from './config';

const { url, token, personaId, content } = readExampleConfig();
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

/** Errors on every REST route are `{detail, code, issues?}` with the HTTP status. */
async function failure(response: Response): Promise<Error> {
  const body = (await response.json()) as { detail: string; code: string };
  return new Error(`${response.status} ${body.code}: ${body.detail}`);
}

try {
  // One request, one answer (stored in a new conversation).
  const answer = await fetch(`${url}/api/personas/${personaId}/chat`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ content }),
  });
  if (!answer.ok) throw await failure(answer);
  const reply = (await answer.json()) as { response: string; message_history_id: string };
  console.log(reply.response);

  // The same question again, streamed into the same conversation as server-sent events: `meta`,
  // then `token`…, then `done` (or `error`). Frames end with a blank line.
  const stream = await fetch(`${url}/api/personas/${personaId}/chat/stream`, {
    method: 'POST',
    headers: { ...headers, accept: 'text/event-stream' },
    body: JSON.stringify({ content, message_history_id: reply.message_history_id }),
  });
  if (!stream.ok || !stream.body) throw await failure(stream);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream.body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null');
      if (event === 'token') process.stdout.write(data.text);
      if (event === 'done') process.stdout.write('\n');
      if (event === 'error') throw new Error(`${data.code}: ${data.detail}`);
    }
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
