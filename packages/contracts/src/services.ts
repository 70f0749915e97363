import type { SystemInfo } from './system/schemas';

/**
 * The ports routers call through `ctx.services`. The server implements them; contracts never
 * import a database, a model client or an HTTP server.
 */
export interface Services {
  system: {
    info(): Promise<SystemInfo>;
  };
}
