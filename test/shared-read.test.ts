import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sharedRead } from '../src/health/shared-read.js';

describe('a read shared by health requests', () => {
  it('runs once for concurrent callers and reuses the answer while it is fresh, then reads again', async () => {
    let reads = 0;
    const read = sharedRead(async () => { reads += 1; await sleep(10); return reads; }, 60);
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    expect(await read()).toBe(1);
    expect(reads).toBe(1);
    await sleep(80);
    expect(await read()).toBe(2);
    expect(reads).toBe(2);
  });

  it('keeps no failure: the next call reads again', async () => {
    let reads = 0;
    const read = sharedRead(async () => { reads += 1; if (reads === 1) throw new Error('Redis away'); return 'ok'; }, 10_000);
    await expect(read()).rejects.toThrow('Redis away');
    expect(await read()).toBe('ok');
    expect(reads).toBe(2);
  });
});
