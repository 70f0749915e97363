// The SDK's inferred types, pinned. These assertions are checked by the type checker
// (`tsc -p test`, part of `npm run typecheck`); at run time `expectTypeOf` does nothing, and no
// request is sent. A change to a procedure's input or output must show up here on purpose.
import type {
  ChatStreamEvent as ContractChatStreamEvent,
  RouterInputs as ContractInputs,
  RouterOutputs as ContractOutputs,
} from '@personas/contracts';
import {
  type ChatStreamEvent,
  type ChatStreamInput,
  createPersonasClient,
  type PersonasClient,
  PersonasError,
  type PersonasErrorCode,
  type PersonasIssue,
  type RouterInputs,
  type RouterOutputs,
} from '@personas/sdk';
import { describe, expectTypeOf, it } from 'vitest';

const client = createPersonasClient({ url: 'http://127.0.0.1:9' });

type DocumentFilter = Record<string, string | number | boolean | (string | number | boolean)[]>;

type RagHit = {
  document_id: string;
  file_name: string;
  doc_path: string;
  page: number | null;
  attributes: Record<string, string | number | boolean>;
  document_string: string;
  euclidean_distance: number;
  cosine_similarity: number;
  success: boolean;
};

describe("the SDK's inferred types", () => {
  it('pins chat.send: its input and its reply', () => {
    expectTypeOf(client.chat.send.mutate).parameter(0).toEqualTypeOf<{
      persona_id: string;
      message_history_id?: string | undefined;
      content: string;
    }>();
    expectTypeOf(client.chat.send.mutate).returns.resolves.toEqualTypeOf<{
      persona_id: string;
      message_history_id: string;
      response: string;
      rag_hit: RagHit | null;
      rag_hits: RagHit[];
      usage: { prompt_tokens: number; completion_tokens: number };
    }>();
  });

  it('pins personas.build: its input and its answer', () => {
    expectTypeOf(client.personas.build.mutate).parameter(0).toEqualTypeOf<{
      persona_name: string;
      creator_id?: string | undefined;
      description?: string | undefined;
      system_prompt?: string | undefined;
      model?: string | undefined;
      temperature?: number | undefined;
      visibility?: 'public' | 'private' | undefined;
      rag?:
        | {
            db_collections?: string[] | undefined;
            query_threshold?: number | undefined;
            query_metric?: 'cosine' | 'euclidean' | undefined;
            top_k?: number | undefined;
            mode?: 'hybrid' | 'vector' | undefined;
            filter?: DocumentFilter | undefined;
          }
        | undefined;
    }>();
    expectTypeOf(client.personas.build.mutate).returns.resolves.toEqualTypeOf<{
      message: 'Persona created successfully';
      persona_id: string;
      persona_name: string;
    }>();
  });

  it('pins the streamed chat: its input and its events', () => {
    expectTypeOf(client.chatStream).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(client.chatStream).parameter(1).toEqualTypeOf<ChatStreamInput>();
    expectTypeOf<ChatStreamInput>().toEqualTypeOf<{
      message_history_id?: string | undefined;
      content: string;
    }>();
    expectTypeOf(client.chatStream).returns.toEqualTypeOf<
      AsyncGenerator<ChatStreamEvent, void, undefined>
    >();
    expectTypeOf<ChatStreamEvent>().toEqualTypeOf<
      | {
          type: 'meta';
          persona_id: string;
          message_history_id: string;
          rag_hit: RagHit | null;
          rag_hits: RagHit[];
        }
      | { type: 'token'; text: string }
      | {
          type: 'done';
          response: string;
          usage: { prompt_tokens: number; completion_tokens: number };
        }
    >();
  });

  it('derives every procedure from the contracts, leaving nothing out or retyped', () => {
    expectTypeOf<RouterInputs>().toEqualTypeOf<ContractInputs>();
    expectTypeOf<RouterOutputs>().toEqualTypeOf<ContractOutputs>();
    expectTypeOf<ChatStreamEvent>().toEqualTypeOf<ContractChatStreamEvent>();
    // Every query and mutation is on the client but the streaming one: that is `chatStream`.
    expectTypeOf<keyof PersonasClient['personas']>().toEqualTypeOf<
      keyof ContractInputs['personas']
    >();
    expectTypeOf<keyof PersonasClient['chat']>().toEqualTypeOf<
      Exclude<keyof ContractInputs['chat'], 'stream'>
    >();
    expectTypeOf(client.auth.me.query).returns.resolves.toEqualTypeOf<
      ContractOutputs['auth']['me']
    >();
    expectTypeOf(client.collections.search.mutate)
      .parameter(0)
      .toEqualTypeOf<ContractInputs['collections']['search']>();
  });

  it('pins chat content as required, and takes a persona back as read', () => {
    expectTypeOf<RouterInputs['chat']['send']['content']>().toEqualTypeOf<string>();
    expectTypeOf<ChatStreamInput['content']>().toEqualTypeOf<string>();
    // Read-only fields are accepted (and ignored) on update, so what GET gave can be PUT back.
    expectTypeOf<RouterOutputs['personas']['get']>().toExtend<RouterInputs['personas']['update']>();
  });

  it('refuses wrong inputs and types the errors', () => {
    // Never called: these lines only have to fail to type-check.
    const wrong = () => {
      // @ts-expect-error persona_name is required
      void client.personas.build.mutate({ description: 'nameless' });
      // @ts-expect-error temperature is a number
      void client.personas.build.mutate({ persona_name: 'Ada', temperature: 'warm' });
      // @ts-expect-error persona_id is required
      void client.chat.send.mutate({ content: 'Hello' });
      // @ts-expect-error content is required, as the server requires it
      void client.chat.send.mutate({ persona_id: 'p' });
      // @ts-expect-error content is required on the stream too
      void client.chatStream('p', { message_history_id: 'h' });
      // @ts-expect-error token and apiKey are exclusive
      createPersonasClient({ url: 'http://127.0.0.1:9', token: 't', apiKey: 'k' });
    };
    expectTypeOf(wrong).toBeFunction();

    expectTypeOf<PersonasError['status']>().toEqualTypeOf<number>();
    // Typed codes: a typo in a comparison is a compile error, and the known codes complete.
    expectTypeOf<PersonasError['code']>().toEqualTypeOf<PersonasErrorCode>();
    expectTypeOf<'NOT_FOUND'>().toExtend<PersonasErrorCode>();
    expectTypeOf<'TOO_MANY_REQUESTS'>().toExtend<PersonasErrorCode>();
    expectTypeOf<'NOT_A_CODE'>().not.toExtend<PersonasErrorCode>();
    expectTypeOf<PersonasError['detail']>().toEqualTypeOf<string>();
    expectTypeOf<PersonasError['issues']>().toEqualTypeOf<PersonasIssue[] | undefined>();
    expectTypeOf<PersonasIssue>().toEqualTypeOf<{ path: string; message: string; code: string }>();
    expectTypeOf(new PersonasError(404, 'NOT_FOUND', 'Persona not found')).toExtend<Error>();
  });
});
