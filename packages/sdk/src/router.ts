import type { AppRouter } from '@personas/contracts';
import type {
  AnyProcedure,
  AnyRouter,
  inferRouterInputs,
  inferRouterOutputs,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
} from '@trpc/server';

/**
 * The client's view of a router: every procedure with its input and output, and nothing of the
 * server's context or OpenAPI meta. The return type is written inline (no named helper types) on
 * purpose: the declaration emitter then prints the inferred type below in full, so the published
 * `.d.ts` describes every procedure without importing the private `@personas/contracts` package
 * or the server-side libraries its context and meta are typed with. (The error shape's `issues`
 * are mapped field by field for the same reason: the contracts name that type.)
 */
function clientRouterOf<
  R extends AnyRouter,
  Rec extends R['_def']['record'] = R['_def']['record'],
  E extends { data: { issues?: unknown } } = R['_def']['_config']['$types']['errorShape'],
  I = NonNullable<E['data']['issues']> extends readonly (infer T)[] ? T : never,
>(): TRPCBuiltRouter<
  {
    ctx: object;
    meta: object;
    errorShape: {
      [S in keyof E]: S extends 'data'
        ? {
            [D in keyof E['data']]: D extends 'issues'
              ? { [F in keyof I]: I[F] }[] | undefined
              : E['data'][D];
          }
        : E[S];
    };
    transformer: false;
  },
  {
    [N in keyof Rec]: {
      [K in keyof Rec[N]]: Rec[N][K] extends AnyProcedure
        ? Rec[N][K]['_def']['type'] extends 'query'
          ? TRPCQueryProcedure<{
              input: Rec[N][K]['_def']['$types']['input'];
              output: Rec[N][K]['_def']['$types']['output'];
              meta: object;
            }>
          : Rec[N][K]['_def']['type'] extends 'mutation'
            ? TRPCMutationProcedure<{
                input: Rec[N][K]['_def']['$types']['input'];
                output: Rec[N][K]['_def']['$types']['output'];
                meta: object;
              }>
            : TRPCSubscriptionProcedure<{
                input: Rec[N][K]['_def']['$types']['input'];
                output: Rec[N][K]['_def']['$types']['output'];
                meta: object;
              }>
        : never;
    };
  }
> {
  // Only its type is used; nothing calls this for a value.
  return undefined as never;
}

/** Carries the type only (its value is `undefined`); see {@link PersonasRouter}. */
const personasRouterShape = /* @__PURE__ */ clientRouterOf<AppRouter>();

/**
 * The Personas server's tRPC router as a client sees it: the same procedures, inputs and outputs
 * as `AppRouter` in `@personas/contracts` (derived from it, not retyped).
 */
export type PersonasRouter = typeof personasRouterShape;

/**
 * The input of every procedure, by path.
 *
 * @example
 * const input: RouterInputs['personas']['build'] = { persona_name: 'Ada' }
 */
export type RouterInputs = inferRouterInputs<PersonasRouter>;

/**
 * The output of every procedure, by path.
 *
 * @example
 * const reply: RouterOutputs['chat']['send'] = await client.chat.send.mutate({ persona_id, content })
 */
export type RouterOutputs = inferRouterOutputs<PersonasRouter>;
