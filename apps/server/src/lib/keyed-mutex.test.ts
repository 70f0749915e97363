import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('KeyedMutex', () => {
  it('runs tasks under one key one at a time, in order', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const gate = deferred();
    const first = mutex.run('a', async () => {
      events.push('first start');
      await gate.promise;
      events.push('first end');
      return 1;
    });
    const second = mutex.run('a', () => {
      events.push('second');
      return 2;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(events).toEqual(['first start']);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events).toEqual(['first start', 'first end', 'second']);
  });

  it('lets different keys run side by side', async () => {
    const mutex = new KeyedMutex();
    const gate = deferred();
    const blocked = mutex.run('a', () => gate.promise);
    expect(await mutex.run('b', () => 'b ran')).toBe('b ran');
    gate.resolve();
    await blocked;
  });

  it('keeps going after a failed task and hands its error to its caller only', async () => {
    const mutex = new KeyedMutex();
    const failed = mutex.run('a', () => {
      throw new Error('boom');
    });
    const next = mutex.run('a', () => 'still runs');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('still runs');
  });

  it('reports idle once everything queued has settled', async () => {
    const mutex = new KeyedMutex();
    const gate = deferred();
    let done = false;
    void mutex.run('a', async () => {
      await gate.promise;
      done = true;
    });
    const idle = mutex.idle();
    gate.resolve();
    await idle;
    expect(done).toBe(true);
  });
});
