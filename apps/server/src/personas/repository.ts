import type { AuthUser } from '@personas/contracts';
import type { Insertable } from 'kysely';
import type { Db } from '../db/connect';
import type { PersonaRow, PersonaRowUpdate, PersonasTable } from '../db/schema';

export type PersonaWithCollections = PersonaRow & { db_collections: string[] };

async function attachCollections(db: Db, rows: PersonaRow[]): Promise<PersonaWithCollections[]> {
  if (rows.length === 0) return [];
  const links = await db
    .selectFrom('persona_collections')
    .innerJoin('collections', 'collections.id', 'persona_collections.collection_id')
    .select(['persona_collections.persona_id', 'collections.name'])
    .where(
      'persona_collections.persona_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('persona_collections.position')
    .execute();
  const byPersona = new Map<string, string[]>();
  for (const link of links) {
    const names = byPersona.get(link.persona_id) ?? [];
    names.push(link.name);
    byPersona.set(link.persona_id, names);
  }
  return rows.map((r) => ({ ...r, db_collections: byPersona.get(r.id) ?? [] }));
}

export const personasRepository = {
  async findById(db: Db, id: string): Promise<PersonaWithCollections | undefined> {
    const row = await db.selectFrom('personas').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? (await attachCollections(db, [row]))[0] : undefined;
  },

  /** Public personas, the actor's own, or — for an admin — every persona. */
  async listVisible(
    db: Db,
    actor: Pick<AuthUser, 'id' | 'role'>,
    page: { limit: number; offset: number },
  ): Promise<PersonaWithCollections[]> {
    let query = db.selectFrom('personas').selectAll();
    if (actor.role !== 'admin') {
      query = query.where((eb) =>
        eb.or([eb('visibility', '=', 'public'), eb('creator_id', '=', actor.id)]),
      );
    }
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return attachCollections(db, rows);
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

  async insert(db: Db, persona: Insertable<PersonasTable>): Promise<PersonaRow> {
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
