import type { AuthUser, OffsetPageInput, Role } from '@personas/contracts';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../db/connect';
import { afterTimeId, exactTimestamp, fetchSize, timeIdKey, toPage } from '../db/keyset';
import type { NewPersonaRow, PersonaRow, PersonaRowUpdate } from '../db/schema';

/** A collection a persona searches, with what deciding access and searchability takes. */
export interface PersonaCollection {
  id: string;
  name: string;
  owner_id: string;
  visibility: 'private' | 'shared';
  embedding_model: string;
}

/** A persona with its creator's role and its collections in order: everything a chat needs. */
export type PersonaRecord = PersonaRow & { creator_role: Role; collections: PersonaCollection[] };

/** One query: the persona, its creator's role (joined) and its collections (aggregated as JSON). */
const personasWithCollections = (db: Db) =>
  db
    .selectFrom('personas')
    .innerJoin('users', 'users.id', 'personas.creator_id')
    .selectAll('personas')
    .select('users.role as creator_role')
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('persona_collections')
          .innerJoin('collections', 'collections.id', 'persona_collections.collection_id')
          .select([
            'collections.id',
            'collections.name',
            'collections.owner_id',
            'collections.visibility',
            'collections.embedding_model',
          ])
          .whereRef('persona_collections.persona_id', '=', 'personas.id')
          .orderBy('persona_collections.position'),
      ).as('collections'),
    );

export const personasRepository = {
  findById(db: Db, id: string): Promise<PersonaRecord | undefined> {
    return personasWithCollections(db).where('personas.id', '=', id).executeTakeFirst();
  },

  /** Public personas, the actor's own, or — for an admin — every persona. */
  /** A page in `(created_at, id)` order (index `personas_created_at_id`); `offset` is deprecated. */
  async listVisible(
    db: Db,
    actor: Pick<AuthUser, 'id' | 'role' | 'personaIds'>,
    page: OffsetPageInput,
  ): Promise<{ rows: PersonaRecord[]; next_cursor: string | null }> {
    let query = personasWithCollections(db).select(
      exactTimestamp('personas.created_at').as('key_at'),
    );
    if (actor.role !== 'admin') {
      query = query.where((eb) =>
        eb.or([eb('personas.visibility', '=', 'public'), eb('personas.creator_id', '=', actor.id)]),
      );
    }
    // An API key limited to some personas lists only those.
    if (actor.personaIds) query = query.where('personas.id', 'in', [...actor.personaIds]);
    if (page.cursor) {
      const key = timeIdKey(page.cursor, { uuid: true });
      query = query.where(afterTimeId('personas.created_at', 'personas.id', key));
    }
    const rows = await query
      .orderBy('personas.created_at')
      .orderBy('personas.id')
      .limit(fetchSize(page))
      .offset(page.offset ?? 0)
      .execute();
    return toPage(rows, page, (r) => [r.key_at, r.id]);
  },

  listOwned(db: Db, creatorId: string) {
    return db
      .selectFrom('personas')
      .select(['id', 'name'])
      .where('creator_id', '=', creatorId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },

  /** The collections with these names (those that exist), for linking them to a persona. */
  collectionsNamed(db: Db, names: string[]): Promise<PersonaCollection[]> {
    if (names.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('collections')
      .select(['id', 'name', 'owner_id', 'visibility', 'embedding_model'])
      .where('name', 'in', names)
      .execute();
  },

  async insert(db: Db, persona: NewPersonaRow): Promise<PersonaRow> {
    return db.insertInto('personas').values(persona).returningAll().executeTakeFirstOrThrow();
  },

  async update(db: Db, id: string, changes: PersonaRowUpdate): Promise<void> {
    await db
      .updateTable('personas')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  /** Replaces the persona's collections, keeping the order given. */
  async setCollections(db: Db, personaId: string, collectionIds: string[]): Promise<void> {
    await db.deleteFrom('persona_collections').where('persona_id', '=', personaId).execute();
    if (collectionIds.length === 0) return;
    await db
      .insertInto('persona_collections')
      .values(
        collectionIds.map((collectionId, position) => ({
          persona_id: personaId,
          collection_id: collectionId,
          position,
        })),
      )
      .execute();
  },

  async delete(db: Db, id: string): Promise<void> {
    await db.deleteFrom('personas').where('id', '=', id).execute();
  },
};
