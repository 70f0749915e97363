import { getTRPCErrorFromUnknown, initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import type { AuthUser, Context } from './context';
import {
  DomainError,
  ForbiddenError,
  MissingScopeError,
  retryAfterOf,
  UnauthorizedError,
} from './errors';
import {
  type IdempotencyClaim,
  INVALID_IDEMPOTENCY_KEY,
  isValidIdempotencyKey,
} from './idempotency';
import { findNulCharacter, nulCharacterMessage } from './nul-characters';
import { hasRole, type Role } from './roles';
import { assertCredentialAccess, PROCEDURE_SCOPES, type ProcedureAccess } from './scopes';

/** The part of a zod issue a client needs: which field, and why. Never the offending value. */
export interface InputIssue {
  path: string;
  message: string;
  code: string;
}

type ZodIssue = ZodError['issues'][number];

/**
 * A union that matched no option (the upload's JSON forms) reports every option's issues; the
 * option that came closest (fewest issues) is the one the client meant, so its issues are told.
 */
function closestIssues(issue: ZodIssue): ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const closest = issue.errors.reduce((best, next) => (next.length < best.length ? next : best));
  return closest.flatMap((inner) =>
    closestIssues({ ...inner, path: [...issue.path, ...inner.path] } as ZodIssue),
  );
}

function toInputIssues(error: ZodError): InputIssue[] {
  return error.issues.flatMap(closestIssues).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/** One sentence for a failed validation, naming the first field at fault. */
export function describeInputIssues(issues: InputIssue[]): string {
  const [first] = issues;
  if (!first) return 'Invalid input';
  const where = first.path ? `${first.path}: ` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue(s))` : '';
  return `Invalid input: ${where}${first.message}${more}`;
}

/** What a client is told of a failed call: a message it can act on, and which fields were wrong. */
export interface PublicError {
  message: string;
  issues?: InputIssue[];
  retryAfterSeconds?: number;
  /** Why, in a word a program can branch on (e.g. `idempotency_in_flight`), when there is one. */
  reason?: string;
  /** The scope an API key lacked (`reason: missing_scope`). */
  scope?: string;
}

/**
 * Never a stack, SQL or path: an internal error keeps its details in the server log only. The
 * error formatter answers with this, and so does a route that calls a procedure through the
 * caller and reads its stream itself (the SSE chat route).
 */
export function publicErrorOf(error: TRPCError): PublicError {
  const issues = error.cause instanceof ZodError ? toInputIssues(error.cause) : undefined;
  const retryAfterSeconds = retryAfterOf(error.cause);
  const reason = error.cause instanceof DomainError ? error.cause.reason : undefined;
  const scope = error.cause instanceof MissingScopeError ? error.cause.scope : undefined;
  let message = error.message;
  if (error.code === 'INTERNAL_SERVER_ERROR') message = 'Internal server error';
  else if (issues) message = describeInputIssues(issues);
  return { message, issues, retryAfterSeconds, reason, ...(scope ? { scope } : {}) };
}

const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    errorFormatter({ shape, error }) {
      const { message, issues, retryAfterSeconds, reason, scope } = publicErrorOf(error);
      return {
        message,
        code: shape.code,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          issues,
          retryAfterSeconds,
          reason,
          scope,
        },
      };
    },
  });

/**
 * Domain errors become the matching TRPCError here, and only here: in the middleware below, and
 * for errors a streaming procedure's events throw once they are being read (which no middleware
 * sees: see {@link withTRPCErrors}). Anything else is an internal error.
 */
export function toTRPCError(thrown: unknown): TRPCError {
  const error = getTRPCErrorFromUnknown(thrown);
  const cause = error.cause;
  if (!(cause instanceof DomainError)) return error;
  return new TRPCError({ code: cause.code, message: cause.message, cause });
}

/**
 * A streaming procedure's events, with what they throw once read translated as
 * {@link toTRPCError} does. The middleware below only sees the procedure hand its stream back;
 * a failure after that (a 404 found on the first read, the model failing mid-reply) would
 * otherwise reach tRPC's stream writer untranslated: a 500 "Internal server error" in place of
 * the domain's own status and message. `yield*` passes `return()` through, so a reader that
 * stops (a client gone) still ends the stream underneath.
 */
export async function* withTRPCErrors<T>(events: AsyncIterable<T>): AsyncGenerator<T, void> {
  try {
    yield* events;
  } catch (thrown) {
    throw toTRPCError(thrown);
  }
}

const translateDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DomainError) throw toTRPCError(result.error);
  return result;
});

/** NUL characters cannot be stored in Postgres text: a clear 400 instead of a database error. */
const rejectNulCharacters = t.middleware(async ({ getRawInput, next }) => {
  const path = findNulCharacter(await getRawInput());
  if (path !== null)
    throw new TRPCError({ code: 'BAD_REQUEST', message: nulCharacterMessage(path) });
  return next();
});

const requireUser = t.middleware(({ ctx, next }) => {
  if (!ctx.user)
    throw new TRPCError({ code: 'UNAUTHORIZED', message: new UnauthorizedError().message });
  return next({ ctx: { ...ctx, user: ctx.user as AuthUser } });
});

/**
 * The one place an API key's scopes are enforced, for every procedure on every transport (REST,
 * tRPC, the SSE route through the caller): the procedure's entry in `PROCEDURE_SCOPES` against
 * the key's `scopes`. A session has every scope; the role checks after this still apply to both,
 * so a key never does more than its owner's role allows today.
 */
const requireKeyScope = t.middleware(({ ctx, path, next }) => {
  const access = (PROCEDURE_SCOPES as Record<string, ProcedureAccess>)[path];
  // A procedure missing from the table is refused, not let through (a test keeps it complete).
  if (access === undefined) throw new Error(`${path} declares no scope in PROCEDURE_SCOPES`);
  assertCredentialAccess(ctx.user, access);
  return next();
});

function requireRole(role: Role) {
  return t.middleware(({ ctx, next }) => {
    // requireUser ran first, so a user is present; the check is repeated for the type only.
    if (!ctx.user)
      throw new TRPCError({ code: 'UNAUTHORIZED', message: new UnauthorizedError().message });
    if (!hasRole(ctx.user.role, role)) {
      const denied = new ForbiddenError(`This action requires the ${role} role`);
      throw new TRPCError({ code: 'FORBIDDEN', message: denied.message, cause: denied });
    }
    return next({ ctx: { ...ctx, user: ctx.user } });
  });
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(translateDomainErrors).use(rejectNulCharacters);
export const authedProcedure = publicProcedure.use(requireUser).use(requireKeyScope);
export const builderProcedure = authedProcedure.use(requireRole('builder'));
export const adminProcedure = authedProcedure.use(requireRole('admin'));

/**
 * Who a key belongs to: the signed-in user, or for register (no user yet) the client address
 * plus the email, so two people behind one address registering do not share keys.
 */
export function idempotencyCallerOf(
  ctx: Pick<Context, 'user' | 'clientAddress'>,
  input: unknown,
): string {
  if (ctx.user) return `user:${ctx.user.id}`;
  const email = (input as { email?: unknown } | null)?.email;
  const normalised = typeof email === 'string' ? email.trim().toLowerCase() : '';
  return `address:${ctx.clientAddress}:${normalised}`;
}

/**
 * Honours `Idempotency-Key` on a creating procedure, for both transports: the first request under
 * a key runs and its success is kept; the same request again answers that result without running
 * (across processes: the keys live in the database); a failure frees the key. Opt in with
 * `.use(idempotent)` after the procedure's authentication.
 */
export const idempotent = t.middleware(async ({ ctx, path, getRawInput, next }) => {
  const key = ctx.idempotencyKey;
  if (key === null) return next();
  if (!isValidIdempotencyKey(key)) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: INVALID_IDEMPOTENCY_KEY });
  }
  const input = await getRawInput();
  const claim: IdempotencyClaim = {
    caller: idempotencyCallerOf(ctx, input),
    key,
    request: { operation: path, input },
  };
  const store = ctx.services.idempotency;
  const outcome = await store.claim(claim);
  if (outcome.state === 'replay') {
    // The kept answer stands for what `next()` would have produced (it passed the output parser
    // when it was first sent); tRPC reads only `ok` and `data` of a middleware's result.
    return { ok: true, data: outcome.body } as unknown as Awaited<ReturnType<typeof next>>;
  }
  const result = await next().catch(async (thrown: unknown) => {
    await store.release(claim);
    throw thrown;
  });
  if (!result.ok) {
    await store.release(claim);
    return result;
  }
  // The work is done: if keeping its answer fails, free the key rather than leave it in flight,
  // and still answer the truth.
  await store
    .complete(claim, { status: 200, body: result.data })
    .catch(() => store.release(claim).catch(() => undefined));
  return result;
});
