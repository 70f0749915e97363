import { parseArgs } from 'node:util';
import { emailSchema, passwordSchema, roleSchema } from '@personas/contracts';
import { connectDatabase } from './db/connect';
import { migrateToLatest } from './db/migrate';
import { ConfigError, loadConfig } from './env';
import { createLogger } from './logger';
import { createUser, resetPassword } from './users/service';

const USAGE = `personas — operator commands (same DATABASE_URL / DATA_DIR as the server)

  npm run cli -- create-user --email <email> --password <password> [--role user|builder|admin] [--name <name>]
  npm run cli -- reset-password --email <email> --password <password>

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
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) return USAGE;
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

run(process.argv.slice(2)).then(
  (message) => {
    process.stdout.write(`${message}\n`);
  },
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof ConfigError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `${known ? message : `personas: ${message}`}\n${error instanceof UsageError ? `\n${USAGE}\n` : ''}`,
    );
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
