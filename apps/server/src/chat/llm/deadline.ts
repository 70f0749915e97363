/**
 * One AbortSignal for an upstream call that fires when the caller aborts or when the call has been
 * idle too long. `extend` restarts the clock, so a stream that keeps producing is never cut off
 * merely for being long; `timedOut` tells a timeout apart from the caller giving up.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  extend(): void;
  /** Stops the clock and aborts whatever is still in flight (e.g. a stream the consumer left). */
  dispose(): void;
}

export function startDeadline(timeoutMs: number, callerSignal?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`No answer within ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
  };

  if (callerSignal?.aborted) controller.abort(callerSignal.reason);
  else {
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    arm();
  }

  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    extend() {
      if (!controller.signal.aborted) arm();
    },
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      if (!controller.signal.aborted) {
        controller.abort(new DOMException('The call has finished', 'AbortError'));
      }
    },
  };
}
