import { describe, expect, it } from 'vitest';
import { Releasers, withReleasers } from '../src/services/releasers.js';

describe('releasers', () => {
  it('run last first, every one of them, and rethrow the first error', async () => {
    const order: string[] = [];
    const releasers = new Releasers();
    releasers.add('redis', () => { order.push('redis'); });
    releasers.add('queue', () => { order.push('queue'); throw new Error('queue close failed'); });
    releasers.add('server', async () => { order.push('server'); throw new Error('server close failed'); });
    await expect(releasers.releaseAll()).rejects.toThrow('server close failed');
    expect(order).toEqual(['server', 'queue', 'redis']);
    // Idempotent: nothing runs twice.
    await expect(releasers.releaseAll()).rejects.toThrow('server close failed');
    expect(order).toHaveLength(3);
    expect(() => releasers.add('late', () => {})).toThrow(/already released/);
  });

  it('withReleasers releases after the work, and the work\'s own error wins', async () => {
    const order: string[] = [];
    await expect(withReleasers(async (r) => {
      r.add('a', () => { order.push('a'); throw new Error('release failed'); });
      throw new Error('listen failed');
    })).rejects.toThrow('listen failed');
    expect(order).toEqual(['a']);
    await expect(withReleasers(async (r) => {
      r.add('b', () => { throw new Error('release failed'); });
      return 1;
    })).rejects.toThrow('release failed');
    expect(await withReleasers(async (r) => { r.add('c', () => order.push('c')); return 7; })).toBe(7);
    expect(order).toEqual(['a', 'c']);
  });
});
