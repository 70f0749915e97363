// The chat through a raw tRPC client: @trpc/client with the router's type and nothing else. Outside
// this repository, import `type PersonasRouter` from '@personas/sdk' in place of `AppRouter`: it
// is the same router, published.
//
// Streaming is the `chat.stream` subscription, which needs `httpSubscriptionLink` and an
// EventSource (Node 20 has none): `client.chatStream` in the SDK streams over REST instead.
//
//   PERSONAS_URL=http://127.0.0.1:3000 PERSONAS_TOKEN=… PERSONA_ID=… \
//     node --import tsx examples/chat-with-trpc.ts "How long is green tea brewed?"
import type { AppRouter } from '@personas/contracts';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { readExampleConfig } from './config';

const { url, token, personaId, content } = readExampleConfig();
const trpc = createTRPCClient<AppRouter>({
  links: [httpBatchLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${token}` } })],
});

try {
  const reply = await trpc.chat.send.mutate({ persona_id: personaId, content });
  console.log(reply.response);
} catch (error) {
  if (!(error instanceof TRPCClientError)) throw error;
  console.error(`${error.data?.httpStatus} ${error.data?.code}: ${error.message}`);
  process.exitCode = 1;
}
