import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { systemRouter } from './system/router';
import { router } from './trpc';

export const appRouter = router({
  system: systemRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
