import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { auditRouter } from './audit/router';
import { authRouter } from './auth/router';
import { chatRouter } from './chat/router';
import { collectionsRouter } from './collections/router';
import { personasRouter } from './personas/router';
import { systemRouter } from './system/router';
import { router } from './trpc';
import { usageRouter } from './usage/router';
import { usersRouter } from './users/router';

export const appRouter = router({
  system: systemRouter,
  auth: authRouter,
  users: usersRouter,
  personas: personasRouter,
  collections: collectionsRouter,
  chat: chatRouter,
  usage: usageRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
