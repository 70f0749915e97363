import { type Kysely, sql } from 'kysely';

// Frozen in time: a migration imports nothing from the app and never changes once released.
// It sees the database as untyped on purpose: the app's types describe today's schema, not this one's.

/**
 * Governance: what an API key may do (`scopes`, `persona_ids`; null = no restriction beyond the
 * owner's role), a per-user daily token limit (null = the server's default), a record of every
 * language-model call, and an append-only audit trail of security-relevant changes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('api_keys')
    .addColumn('scopes', 'jsonb')
    .addColumn('persona_ids', 'jsonb')
    .execute();
  await db.schema.alterTable('users').addColumn('daily_token_limit', 'integer').execute();

  await db.schema
    .createTable('usage_records')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // Usage belongs to the account and goes with it.
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // No foreign key: a persona's past usage outlives the persona.
    .addColumn('persona_id', 'uuid')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) =>
      c.notNull().check(sql`outcome in ('completed', 'failed', 'aborted')`),
    )
    .addColumn('prompt_tokens', 'integer', (c) => c.notNull())
    .addColumn('completion_tokens', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('usage_records_user_created_at')
    .on('usage_records')
    .columns(['user_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('usage_records_created_at')
    .on('usage_records')
    .column('created_at')
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    // No foreign keys: the trail outlives the users and things it names.
    .addColumn('actor_id', 'uuid')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('request_id', 'text')
    .execute();
  await db.schema
    .createIndex('audit_events_at_id')
    .on('audit_events')
    .columns(['at', 'id'])
    .execute();
  await db.schema
    .createIndex('audit_events_actor_at_id')
    .on('audit_events')
    .columns(['actor_id', 'at', 'id'])
    .execute();
  await db.schema
    .createIndex('audit_events_action_at_id')
    .on('audit_events')
    .columns(['action', 'at', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_events').execute();
  await db.schema.dropTable('usage_records').execute();
  await db.schema.alterTable('users').dropColumn('daily_token_limit').execute();
  await db.schema.alterTable('api_keys').dropColumn('persona_ids').dropColumn('scopes').execute();
}
