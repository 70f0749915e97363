import { describe, expect, it } from 'vitest';
import { CleanupStack } from './cleanup-stack';

describe('CleanupStack', () => {
  it('closes newest first, runs every close when one fails, then throws the first failure', async () => {
    const closed: string[] = [];
    const cleanup = new CleanupStack();
    cleanup.defer(() => {
      closed.push('database');
    });
    cleanup.defer(async () => {
      closed.push('indexes');
      throw new Error('index not saved');
    });
    cleanup.defer(() => {
      closed.push('http');
      throw new Error('http did not close');
    });
    await expect(cleanup.close()).rejects.toThrow('http did not close');
    expect(closed).toEqual(['http', 'indexes', 'database']);
  });

  it('closes once: a second close waits for the first and runs nothing again', async () => {
    let runs = 0;
    const cleanup = new CleanupStack();
    cleanup.defer(async () => {
      runs += 1;
    });
    await Promise.all([cleanup.close(), cleanup.close()]);
    await cleanup.close();
    expect(runs).toBe(1);
    expect(() => cleanup.defer(() => {})).toThrow(/already closed/);
  });
});
