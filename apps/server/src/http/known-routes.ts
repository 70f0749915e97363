/** One path pattern and the methods registered on it. */
interface KnownRoute {
  template: string;
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * Which methods each known path serves, so that a request the router cannot place is told apart:
 * an unknown path is a 404, a known path with a wrong method a 405 with `Allow`. Fastify's router
 * only answers "no route", and the REST adapter registers one catch-all for every method, so the
 * host keeps this table itself: Fastify routes as they are registered, REST operations from the
 * procedures' OpenAPI meta.
 */
export class KnownRoutes {
  readonly #routes: KnownRoute[] = [];

  /**
   * Records methods served on a path, written as Fastify writes it (`/a/:id`, `/static/*`) or as
   * OpenAPI does (`/a/{id}`).
   */
  add(path: string, methods: readonly string[]): void {
    this.#routes.push({
      template: path,
      pattern: patternOf(path),
      methods: new Set(methods.map((m) => m.toUpperCase())),
    });
  }

  /** The template of the route a path falls under (`/api/personas/{persona_id}`), if any. */
  templateOf(path: string): string | undefined {
    return this.#routes.find((route) => route.pattern.test(path))?.template;
  }

  /** Whether some route on this path serves this method (HEAD wherever GET is served). */
  serves(method: string, path: string): boolean {
    return this.allowed(path).includes(method.toUpperCase());
  }

  /**
   * Every method some route on this path serves, HEAD included wherever GET is, in a stable
   * order; empty for an unknown path.
   */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.#routes) {
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    }
    if (methods.has('GET')) methods.add('HEAD');
    return METHOD_ORDER.filter((m) => methods.has(m));
  }
}

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A path template as an anchored RegExp: a parameter is one segment, `*` the rest of the path. */
function patternOf(path: string): RegExp {
  const source = (path.length > 1 ? path.replace(/\/$/, '') : path)
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':') || /^\{[^}]+\}$/.test(segment)) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}
