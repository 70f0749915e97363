// The chat through a raw tRPC client: @trpc/client with the router's type and nothing else. Outside
// this repository, import `type PersonasRouter` from '@personas/sdk' in place of `AppRouter`: it
// is the same router, published.
//
// `httpBatchStreamLink` carries every call, and streams `chat.stream`, a streaming mutation: a
// POST with the message in its body, whose events arrive as the reply is written.
//
//   PERSONAS_URL=http://127.0.0.1:3000 PERSONAS_TOKEN=… PERSONA_ID=… \
//     node --import tsx examples/chat-with-trpc.ts "How long is green tea brewed?"
import type { AppRouter } from '@personas/contracts';
import { createTRPCClient, httpBatchStreamLink, TRPCClientError } from '@trpc/client';
import { readExampleConfig } from './config';

const { url, token, personaId, content } = readExampleConfig();
const trpc = createTRPCClient<AppRouter>({
  links: [
    httpBatchStreamLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${token}` } }),
  ],
});

try {
  // One request, one answer (stored in a new conversation).
  const reply = await trpc.chat.send.mutate({ persona_id: personaId, content });
  console.log(reply.response);

  // The same question again, streamed into the same conversation: `meta`, `token`…, `done`.
  const input = { persona_id: personaId, content, message_history_id: reply.message_history_id };
  for await (const event of await trpc.chat.stream.mutate(input)) {
    if (event.type === 'token') process.stdout.write(event.text);
    if (event.type === 'done') process.stdout.write('\n');
  }
} catch (error) {
  if (!(error instanceof TRPCClientError)) throw error;
  console.error(`${error.data?.httpStatus} ${error.data?.code}: ${error.message}`);
  process.exitCode = 1;
}
