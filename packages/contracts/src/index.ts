export * from './audit/schemas';
export * from './auth/schemas';
export * from './chat/schemas';
export * from './collections/schemas';
export * from './collections/document-filter';
export * from './common';
export type { AuthUser, Context } from './context';
export { createOpenApiDocument } from './document';
export * from './error-codes';
export * from './errors';
export * from './idempotency';
export { findNulCharacter, nulCharacterMessage } from './nul-characters';
export { API_TAGS, type ApiTag, rest } from './openapi';
export { type ErrorBody, errorBodySchema, STATUS_TITLES } from './openapi-errors';
export { REQUEST_EXAMPLES } from './openapi-examples';
export { createOpenAiDocument } from './openai/document';
export * from './openai/schemas';
export * from './personas/schemas';
export { hasRole, ROLES, type Role, roleSchema } from './roles';
export * from './scopes';
export { type AppRouter, appRouter, type RouterInputs, type RouterOutputs } from './root';
export type { Services } from './services';
export * from './system/schemas';
export {
  adminProcedure,
  authedProcedure,
  builderProcedure,
  createCallerFactory,
  describeInputIssues,
  type InputIssue,
  idempotencyCallerOf,
  idempotent,
  type PublicError,
  publicErrorOf,
  publicProcedure,
  router,
  toTRPCError,
} from './trpc';
export * from './usage/schemas';
export * from './users/schemas';
