import path from 'node:path';
import { parseArgs } from 'node:util';
import { emailSchema, passwordSchema, roleSchema } from '@personas/contracts';
import { connectDatabase } from './db/connect';
import { CopyRefused, type CopySummary, DEFAULT_COPY_BATCH_ROWS } from './db/copy-database';
import { copyToPostgres } from './db/copy-to-postgres';
import { migrateToLatest } from './db/migrate';
import { ConfigError, loadConfig } from './env';
import { createLogger } from './logger';
import { createUser, resetPassword } from './users/service';

const USAGE = `personas — operator commands (same DATABASE_URL / DATA_DIR as the server)

  npm run cli -- create-user --email <email> --password <password> [--role user|builder|admin] [--name <name>]
  npm run cli -- reset-password --email <email> --password <password>
  npm run cli -- copy-to-postgres --to <postgres://…> [--from-data-dir <dir>] [--batch-size <rows>]
      copies the embedded database (DATA_DIR, or --from-data-dir) into an empty Postgres
      database, migrated first; the embedded one is left as it was

On the embedded database, stop the server first: PGlite is one process's database.`;

class UsageError extends Error {}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`Missing --${flag}`);
  return value;
}

function parse<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } };
  },
  value: unknown,
  flag: string,
): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new UsageError(`--${flag}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

async function run(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string', default: 'user' },
      name: { type: 'string' },
      to: { type: 'string' },
      'from-data-dir': { type: 'string' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) return USAGE;
  if (command === 'copy-to-postgres') return copyCommand(values);
  if (command !== 'create-user' && command !== 'reset-password') {
    throw new UsageError(`Unknown command "${command}"`);
  }
  const email = parse(emailSchema, required(values.email, 'email'), 'email');
  const password = parse(passwordSchema, required(values.password, 'password'), 'password');

  const config = loadConfig();
  const { db } = await connectDatabase(config, createLogger(config.logLevel));
  try {
    await migrateToLatest(db);
    if (command === 'create-user') {
      const role = parse(roleSchema, values.role, 'role');
      const id = await createUser(db, { email, password, role, name: values.name ?? null });
      if (!id) throw new UsageError(`A user with email ${email} already exists`);
      return `Created ${role} ${email} (${id})`;
    }
    if (!(await resetPassword(db, email, password)))
      throw new UsageError(`No user with email ${email}`);
    return `Password reset for ${email}; their sessions were ended`;
  } finally {
    await db.destroy();
  }
}

async function copyCommand(values: {
  to?: string;
  'from-data-dir'?: string;
  'batch-size'?: string;
}): Promise<string> {
  const to = required(values.to, 'to');
  if (!/^postgres(ql)?:\/\//.test(to)) throw new UsageError('--to: must be a postgres:// URL');
  const batchText = values['batch-size'] ?? String(DEFAULT_COPY_BATCH_ROWS);
  if (!/^[1-9]\d{0,5}$/.test(batchText)) {
    throw new UsageError('--batch-size: must be a whole number of rows from 1 to 999999');
  }
  // DATABASE_URL is ignored: the source is always the embedded database, the target --to.
  const config = loadConfig();
  const dataDir = path.resolve(values['from-data-dir'] ?? config.dataDir);
  const summary = await copyToPostgres(
    { dataDir, to, batchRows: Number(batchText) },
    createLogger(config.logLevel),
  );
  return describeCopy(summary, path.join(dataDir, 'pglite'), to);
}

/** What was copied, per table, for the operator to compare with what they expect. */
function describeCopy(summary: CopySummary, from: string, to: string): string {
  const width = Math.max(...summary.tables.map((t) => t.name.length), 'total'.length) + 2;
  const total = summary.tables.reduce((sum, t) => sum + t.rows, 0);
  const lines = [
    `Copied ${from} to ${withoutPassword(to)} (row counts verified before commit):`,
    ...summary.tables.map((t) => `  ${t.name.padEnd(width)}${String(t.rows).padStart(9)}`),
    `  ${'total'.padEnd(width)}${String(total).padStart(9)} rows in ${summary.tables.length} tables`,
  ];
  if (summary.sequences.length > 0) {
    lines.push(
      `Sequences go on from: ${summary.sequences.map((s) => `${s.name} ${s.next}`).join(', ')}`,
    );
  }
  lines.push(
    `Next: start the server with DATABASE_URL=${withoutPassword(to)}.`,
    'It loads the vector indexes under the same DATA_DIR as they are; with a fresh DATA_DIR it',
    'rebuilds them from the chunks at start.',
  );
  return lines.join('\n');
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

run(process.argv.slice(2)).then(
  (message) => {
    process.stdout.write(`${message}\n`);
  },
  (error: unknown) => {
    const known =
      error instanceof UsageError || error instanceof ConfigError || error instanceof CopyRefused;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `${known ? message : `personas: ${message}`}\n${error instanceof UsageError ? `\n${USAGE}\n` : ''}`,
    );
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
