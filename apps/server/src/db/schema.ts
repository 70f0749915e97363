import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Role } from '@personas/contracts';

/** The tables as Kysely sees them; migrations in `./migrations` are the source of this shape. */
export interface Database {
  app_meta: AppMetaTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  login_failures: LoginFailuresTable;
}

/** Key/value facts about this database (e.g. when it was first migrated). */
export interface AppMetaTable {
  key: string;
  value: string;
  updated_at: Generated<Date>;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string | null;
  role: Generated<Role>;
  password_hash: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserRowUpdate = Updateable<UsersTable>;

export interface SessionsTable {
  id: string;
  user_id: string;
  secret_hash: Uint8Array;
  created_at: Generated<Date>;
  expires_at: Date;
}
export type SessionRow = Selectable<SessionsTable>;

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  secret_hash: Uint8Array;
  created_at: Generated<Date>;
  expires_at: Date | null;
  last_used_at: Date | null;
}
export type ApiKeyRow = Selectable<ApiKeysTable>;

export interface LoginFailuresTable {
  id: Generated<number>;
  email: string;
  failed_at: Generated<Date>;
}
