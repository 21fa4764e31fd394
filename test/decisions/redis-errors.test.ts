import { describe, expect, it } from 'vitest';
import { redisErrorKind, writeRefusal } from '../../src/redis-errors.js';

describe('what a failed Redis command means', () => {
  it.each([
    [new Error("OOM command not allowed when used memory > 'maxmemory'."), 'oom'],
    [Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [new Error("OOM command not allowed when used memory > 'maxmemory'.")] }), 'oom'],
    [new Error("READONLY You can't write against a read only replica."), 'readonly'],
    [new Error('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'), 'misconf'],
    [new Error('Command timed out'), 'timeout'],
    [new Error('connect ECONNREFUSED 127.0.0.1:1'), 'connection'],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'connection'],
    [new Error('EXECABORT Transaction discarded because of previous errors.'), 'other'],
    [new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), 'other'],
    [undefined, 'other'],
  ])('%s → %s', (error, kind) => {
    expect(redisErrorKind(error)).toBe(kind);
  });

  it('names a refusal of writes, and only that', () => {
    expect(writeRefusal(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe('redis refuses writes: out of memory');
    expect(writeRefusal(new Error('Command timed out'))).toBeUndefined();
  });
});
