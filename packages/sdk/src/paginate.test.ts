import { describe, expect, expectTypeOf, it } from 'vitest';
import { createPersonasClient } from './client';
import { paginate } from './paginate';
import type { RouterOutputs } from './router';

type Input = { limit?: number; cursor?: string } | undefined;
type Output = { items: { id: number }[]; next_cursor: string | null };

/** A list of `total` items served `limit` at a time, recording each input it was called with. */
function fakeList(total: number) {
  const calls: Input[] = [];
  return {
    calls,
    async query(input: Input): Promise<Output> {
      calls.push(input);
      const from = input?.cursor ? Number(input.cursor) : 0;
      const limit = input?.limit ?? 50;
      const items = Array.from({ length: Math.max(0, Math.min(limit, total - from)) }, (_, i) => ({
        id: from + i,
      }));
      const next = from + limit < total ? String(from + limit) : null;
      return { items, next_cursor: next };
    },
  };
}

describe('paginate', () => {
  it('follows next_cursor through every page, keeping the other input', async () => {
    const list = fakeList(7);
    const ids: number[] = [];
    for await (const item of paginate(list, 'items', { limit: 3 })) ids.push(item.id);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(list.calls).toEqual([
      { limit: 3 },
      { limit: 3, cursor: '3' },
      { limit: 3, cursor: '6' },
    ]);
  });

  it('fetches no further page once the loop is left', async () => {
    const list = fakeList(10);
    for await (const item of paginate(list, 'items', { limit: 2 })) {
      if (item.id === 1) break;
    }
    expect(list.calls).toHaveLength(1);
  });

  it('stops on an empty last page and refuses a repeated cursor', async () => {
    const empty = fakeList(0);
    const none: unknown[] = [];
    for await (const item of paginate(empty, 'items')) none.push(item);
    expect(none).toEqual([]);
    const stuck = { query: async (): Promise<Output> => ({ items: [], next_cursor: 'same' }) };
    await expect(async () => {
      for await (const _ of paginate(stuck, 'items')) {
        // drains
      }
    }).rejects.toThrow('repeated a cursor');
  });

  it("is typed from the client's procedures", () => {
    const client = createPersonasClient({ url: 'http://127.0.0.1:9' });
    const personas = paginate(client.personas.list, 'personas', { limit: 50 });
    expectTypeOf(personas).toEqualTypeOf<
      AsyncGenerator<RouterOutputs['personas']['list']['personas'][number], void, undefined>
    >();
    const messages = paginate(client.chat.historyMessages, 'messages', { id: 'h', limit: 10 });
    expectTypeOf(messages).toEqualTypeOf<
      AsyncGenerator<RouterOutputs['chat']['historyMessages']['messages'][number], void, undefined>
    >();
    // @ts-expect-error: the key must name the page's list
    paginate(client.personas.list, 'next_cursor');
  });
});
