import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { classifyDatabaseError } from './errors';

async function classified<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw classifyDatabaseError(error);
  }
}

/** A connection whose failures to reach the server are rethrown as DatabaseUnavailableError. */
class ClassifyingConnection implements DatabaseConnection {
  cancelQuery?: DatabaseConnection['cancelQuery'];
  killSession?: DatabaseConnection['killSession'];
  collectSessionInfo?: DatabaseConnection['collectSessionInfo'];

  constructor(readonly inner: DatabaseConnection) {
    // Optional in the interface: present here only when the wrapped connection has them.
    if (inner.cancelQuery) this.cancelQuery = (provider) => inner.cancelQuery!(provider);
    if (inner.killSession) this.killSession = (provider) => inner.killSession!(provider);
    if (inner.collectSessionInfo)
      this.collectSessionInfo = () => classified(inner.collectSessionInfo!());
  }

  executeQuery<R>(
    query: CompiledQuery,
    options?: Parameters<DatabaseConnection['executeQuery']>[1],
  ) {
    return classified(this.inner.executeQuery<R>(query, options));
  }

  async *streamQuery<R>(
    query: CompiledQuery,
    chunkSize: number,
    options?: Parameters<DatabaseConnection['streamQuery']>[2],
  ): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize, options);
    } catch (error) {
      throw classifyDatabaseError(error);
    }
  }
}

/**
 * Every driver call (connecting, queries, BEGIN/COMMIT/ROLLBACK) with its connection failures
 * classified. The wrapped driver gets its own connections back: it reaches into them.
 */
class ClassifyingDriver implements Driver {
  readonly #connections = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(readonly inner: Driver) {}

  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#connections.get(connection) ?? connection;
  }

  init(options?: Parameters<Driver['init']>[0]) {
    return classified(this.inner.init(options));
  }

  async acquireConnection(options?: Parameters<Driver['acquireConnection']>[0]) {
    const inner = await classified(this.inner.acquireConnection(options));
    const outer = new ClassifyingConnection(inner);
    this.#connections.set(outer, inner);
    return outer;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return classified(this.inner.beginTransaction(this.#unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection) {
    return classified(this.inner.commitTransaction(this.#unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection) {
    return classified(this.inner.rollbackTransaction(this.#unwrap(connection)));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return classified(this.inner.savepoint!(this.#unwrap(connection), name, compile));
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    return classified(this.inner.rollbackToSavepoint!(this.#unwrap(connection), name, compile));
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    return classified(this.inner.releaseSavepoint!(this.#unwrap(connection), name, compile));
  }

  releaseConnection(
    connection: DatabaseConnection,
    options?: Parameters<Driver['releaseConnection']>[1],
  ) {
    return this.inner.releaseConnection(this.#unwrap(connection), options);
  }

  destroy(options?: Parameters<Driver['destroy']>[0]) {
    return this.inner.destroy(options);
  }
}

/**
 * A dialect whose driver turns "the database is unreachable" into DatabaseUnavailableError, in
 * one place below every repository: the services and routers never see a raw socket error, and
 * the one error translation in contracts answers 503 with `Retry-After` instead of a 500.
 */
export class ClassifyingDialect implements Dialect {
  constructor(readonly inner: Dialect) {}
  createDriver(): Driver {
    return new ClassifyingDriver(this.inner.createDriver());
  }
  createQueryCompiler() {
    return this.inner.createQueryCompiler();
  }
  createAdapter() {
    return this.inner.createAdapter();
  }
  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]) {
    return this.inner.createIntrospector(db);
  }
}
