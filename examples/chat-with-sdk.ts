// The chat through @personas/sdk: typed from the server's router, errors as PersonasError, and the
// streamed reply as an async iterator.
//
//   PERSONAS_URL=http://127.0.0.1:3000 PERSONAS_TOKEN=… PERSONA_ID=… \
//     node --conditions=@personas/source --import tsx examples/chat-with-sdk.ts \
//     "How long is green tea brewed?"
//
// (The condition resolves @personas/sdk to its sources; without it, build the SDK first.)
import { createPersonasClient, PersonasError } from '@personas/sdk';
import { readExampleConfig } from './config';

const { url, token, personaId, content } = readExampleConfig();
const client = createPersonasClient({ url, token });

try {
  // One request, one answer (stored in a new conversation).
  const reply = await client.chat.send.mutate({ persona_id: personaId, content });
  console.log(reply.response);

  // The same question again, streamed into the same conversation.
  const input = { content, message_history_id: reply.message_history_id };
  for await (const event of client.chatStream(personaId, input)) {
    if (event.type === 'token') process.stdout.write(event.text);
    if (event.type === 'done') process.stdout.write('\n');
  }
} catch (error) {
  if (!(error instanceof PersonasError)) throw error;
  console.error(`${error.status} ${error.code}: ${error.detail}`);
  process.exitCode = 1;
}
