import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** The tables as Kysely sees them; migrations in `./migrations` are the source of this shape. */
export interface Database {
  app_meta: AppMetaTable;
}

/** Key/value facts about this database (e.g. when it was first migrated). */
export interface AppMetaTable {
  key: string;
  value: string;
  updated_at: Generated<Date>;
}

export type AppMeta = Selectable<AppMetaTable>;
export type NewAppMeta = Insertable<AppMetaTable>;
export type AppMetaUpdate = Updateable<AppMetaTable>;
