import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/**
 * PGlite runs in this process and resolves each query with promise callbacks only, never giving
 * the event loop a turn: a request's chain of queries (and a burst of concurrent requests) then
 * runs start to finish while sockets wait, which starves I/O and makes tail latency explode under
 * load. One macrotask turn after each query restores fair turns between requests.
 */
export class MacrotaskYieldPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    await yieldToEventLoop();
    return args.result;
  }
}
