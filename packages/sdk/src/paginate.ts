/** What every list procedure answers: its list under one key, and the cursor for the next page. */
interface CursorPage {
  next_cursor: string | null;
}

/** The keys of a page that hold its list (`personas`, `users`, `messages`, …). */
type ListKey<O> = { [P in keyof O]: O[P] extends readonly unknown[] ? P : never }[keyof O];

/** One item of the list under `K`. */
type ItemOf<O, K extends keyof O> = O[K] extends readonly (infer T)[] ? T : never;

/** A list procedure of the client: `client.personas.list`, `client.chat.historyMessages`, … */
interface ListProcedure<I, O extends CursorPage> {
  query(input: I): Promise<O>;
}

/**
 * Every item of a paged list, fetching one page at a time and following `next_cursor` until the
 * server says there is no more (`null`). Pages are fetched as the loop asks for items, so leaving
 * the loop early fetches nothing further. Failures throw a PersonasError.
 *
 * @param list a list procedure of the client, e.g. `client.personas.list`
 * @param key the member of its answer that holds the list, e.g. `'personas'`
 * @param input the procedure's input without `cursor` (`limit` is the page size, 1–200)
 *
 * @example
 * for await (const persona of paginate(client.personas.list, 'personas', { limit: 50 })) {
 *   console.log(persona.persona_name)
 * }
 */
export async function* paginate<
  I extends { cursor?: string } | undefined,
  O extends CursorPage,
  K extends ListKey<O>,
>(
  list: ListProcedure<I, O>,
  key: K,
  input?: Omit<NonNullable<I>, 'cursor'>,
): AsyncGenerator<ItemOf<O, K>, void, undefined> {
  let cursor: string | undefined;
  const seen = new Set<string>();
  do {
    const page = await list.query({ ...input, ...(cursor ? { cursor } : {}) } as I);
    yield* page[key] as ItemOf<O, K>[];
    cursor = page.next_cursor ?? undefined;
    // A cursor handed out twice would loop forever; a server never does that, but don't hang.
    if (cursor !== undefined && seen.has(cursor)) throw new Error('The server repeated a cursor');
    if (cursor !== undefined) seen.add(cursor);
  } while (cursor !== undefined);
}
