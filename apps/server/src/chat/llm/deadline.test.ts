import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDeadline } from './deadline';

describe('startDeadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError once the time runs out', () => {
    const deadline = startDeadline(1000);
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.timedOut).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('extend restarts the clock', () => {
    const deadline = startDeadline(1000);
    vi.advanceTimersByTime(800);
    deadline.extend();
    vi.advanceTimersByTime(800);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(200);
    expect(deadline.timedOut).toBe(true);
  });

  it('follows the caller abort with its reason, without calling it a timeout', () => {
    const caller = new AbortController();
    const deadline = startDeadline(1000, caller.signal);
    const reason = new Error('user left');
    caller.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.timedOut).toBe(false);
  });

  it('is aborted at once when the caller already gave up', () => {
    const caller = new AbortController();
    caller.abort();
    const deadline = startDeadline(1000, caller.signal);
    expect(deadline.signal.aborted).toBe(true);
    vi.advanceTimersByTime(5000);
    expect(deadline.timedOut).toBe(false);
  });

  it('dispose stops the clock and cancels what is still in flight', () => {
    const deadline = startDeadline(1000);
    deadline.dispose();
    expect(deadline.signal.aborted).toBe(true);
    vi.advanceTimersByTime(5000);
    expect(deadline.timedOut).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
