type Closer = () => void | Promise<void>;

/**
 * What has been opened so far, to be closed newest first: the job of `AsyncDisposableStack`, which
 * Node 20 lacks. Start-up defers each close as soon as the thing is open, so a failure at any later
 * step closes exactly what was opened, and the normal shutdown runs the same path.
 *
 * @example
 * const cleanup = new CleanupStack();
 * const db = await open();
 * cleanup.defer(() => db.destroy());
 */
export class CleanupStack {
  readonly #closers: Closer[] = [];
  #closing: Promise<void> | null = null;

  defer(close: Closer): void {
    if (this.#closing) throw new Error('This CleanupStack is already closed');
    this.#closers.push(close);
  }

  /**
   * Runs every deferred close, newest first, each even when an earlier one failed (then the first
   * failure is thrown after all ran). Runs once: later calls wait for the same result.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const failures: unknown[] = [];
      for (const close of this.#closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    })();
    return this.#closing;
  }
}
