import { describe, expect, it } from 'vitest';
import { cpuLimitOf, memoryLimitOf, readCgroupFiles, type CgroupFiles } from '../../src/config/cgroup-limits.js';
import { loadConfig, MAX_WORKERS } from '../../src/config/config.js';
import { BouyError } from '../../src/errors.js';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const load = (env: Record<string, string>, files: CgroupFiles = {}, cores = 2) => loadConfig(env, false, () => files, () => cores);

function problemOf(env: Record<string, string>, files: CgroupFiles = {}): string {
  try {
    load(env, files);
  } catch (error) {
    if (!(error instanceof BouyError)) throw error;
    expect(error.exitCode).toBe(64);
    return error.message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('the CPU quota, from the cgroup files', () => {
  it('cgroup v2 cpu.max: quota over period', () => {
    expect(cpuLimitOf({ cpuMax: '150000 100000\n' }, 8)).toEqual({ cpus: 1.5, source: 'cgroup v2 cpu.max (150000 100000)' });
  });
  it('cgroup v2 "max": no quota, the available cores', () => {
    expect(cpuLimitOf({ cpuMax: 'max 100000\n' }, 6)).toEqual({ cpus: 6, source: 'available cores (no cgroup CPU quota)' });
  });
  it('cgroup v1 cfs_quota_us / cfs_period_us', () => {
    expect(cpuLimitOf({ cfsQuotaUs: '250000\n', cfsPeriodUs: '100000\n' }, 8)).toMatchObject({ cpus: 2.5, source: expect.stringContaining('cgroup v1') });
  });
  it('cgroup v1 -1: no quota', () => {
    expect(cpuLimitOf({ cfsQuotaUs: '-1\n', cfsPeriodUs: '100000\n' }, 4).cpus).toBe(4);
  });
  it('missing or unreadable files: the available cores', () => {
    expect(cpuLimitOf({}, 3).cpus).toBe(3);
    expect(cpuLimitOf({ cpuMax: 'garbage', cfsQuotaUs: 'x', cfsPeriodUs: '0' }, 3).cpus).toBe(3);
  });
});

describe('the memory limit, from the cgroup files', () => {
  it('v2 memory.max and memory.current; "max" is none', () => {
    expect(memoryLimitOf({ memoryMax: '536870912\n', memoryCurrent: '1000\n' })).toEqual({ limitBytes: 536870912, usedBytes: 1000, source: 'cgroup v2 memory.max' });
    expect(memoryLimitOf({ memoryMax: 'max\n', memoryLimitV1: '1000' })).toBeUndefined();
  });
  it('v1 limit_in_bytes; its ~8 EiB "unlimited" is none; missing files are none', () => {
    expect(memoryLimitOf({ memoryLimitV1: '1073741824', memoryUsageV1: '5' })).toMatchObject({ limitBytes: 1073741824, usedBytes: 5 });
    expect(memoryLimitOf({ memoryLimitV1: '9223372036854771712' })).toBeUndefined();
    expect(memoryLimitOf({})).toBeUndefined();
  });
  it('reads v1 and v2 layouts from a directory tree', () => {
    const v2 = mkdtempSync(join(tmpdir(), 'cg2-'));
    writeFileSync(join(v2, 'cpu.max'), '150000 100000\n');
    writeFileSync(join(v2, 'memory.max'), 'max\n');
    expect(readCgroupFiles(v2)).toMatchObject({ cpuMax: '150000 100000\n', memoryMax: 'max\n', cfsQuotaUs: undefined });
    const v1 = mkdtempSync(join(tmpdir(), 'cg1-'));
    mkdirSync(join(v1, 'cpu,cpuacct'));
    writeFileSync(join(v1, 'cpu,cpuacct', 'cpu.cfs_quota_us'), '50000\n');
    writeFileSync(join(v1, 'cpu,cpuacct', 'cpu.cfs_period_us'), '100000\n');
    expect(cpuLimitOf(readCgroupFiles(v1), 9).cpus).toBe(0.5);
  });

  it('v1 under cpu/ as well as cpu,cpuacct/; the memory files of both layouts', () => {
    const v1 = mkdtempSync(join(tmpdir(), 'cg1cpu-'));
    mkdirSync(join(v1, 'cpu'));
    mkdirSync(join(v1, 'memory'));
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_quota_us'), '300000\n');
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    writeFileSync(join(v1, 'memory', 'memory.limit_in_bytes'), '2048\n');
    writeFileSync(join(v1, 'memory', 'memory.usage_in_bytes'), '1024\n');
    expect(readCgroupFiles(v1)).toEqual({
      cpuMax: undefined, cfsQuotaUs: '300000\n', cfsPeriodUs: '100000\n', memoryMax: undefined, memoryCurrent: undefined, memoryLimitV1: '2048\n', memoryUsageV1: '1024\n',
    });
    const v2 = mkdtempSync(join(tmpdir(), 'cg2mem-'));
    writeFileSync(join(v2, 'memory.max'), '4096\n');
    writeFileSync(join(v2, 'memory.current'), '10\n');
    expect(memoryLimitOf(readCgroupFiles(v2))).toEqual({ limitBytes: 4096, usedBytes: 10, source: 'cgroup v2 memory.max' });
    expect(readCgroupFiles(join(v2, 'missing'))).toEqual({
      cpuMax: undefined, cfsQuotaUs: undefined, cfsPeriodUs: undefined, memoryMax: undefined, memoryCurrent: undefined, memoryLimitV1: undefined, memoryUsageV1: undefined,
    });
  });

  it('refuses malformed quota files whole, and names v1 sources in full', () => {
    for (const cpuMax of ['x150000 100000', '150000 100000x', '150000 0', '150000\t100000']) {
      expect(cpuLimitOf({ cpuMax }, 7).cpus, cpuMax).toBe(cpuMax === '150000\t100000' ? 1.5 : 7);
    }
    expect(cpuLimitOf({ cpuMax: '150000  100000' }, 7).cpus).toBe(1.5);
    expect(cpuLimitOf({ cfsQuotaUs: ' 250000\n', cfsPeriodUs: ' 100000 \n' }, 8)).toEqual({ cpus: 2.5, source: 'cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us (250000/100000)' });
    for (const [cfsQuotaUs, cfsPeriodUs] of [['0', '100000'], ['2.5', '100000'], ['250000', '0'], ['250000', '0.5'], ['250000', undefined]] as const) {
      expect(cpuLimitOf({ cfsQuotaUs, cfsPeriodUs }, 7).cpus).toBe(7);
    }
    expect(cpuLimitOf({ cfsPeriodUs: '100000' }, 7).cpus).toBe(7);
    expect(memoryLimitOf({ memoryMax: ' 4096\n', memoryCurrent: '10x' })).toEqual({ limitBytes: 4096, usedBytes: undefined, source: 'cgroup v2 memory.max' });
    expect(memoryLimitOf({ memoryMax: 'x4096' })).toBeUndefined();
    expect(memoryLimitOf({ memoryLimitV1: '2048x' })).toBeUndefined();
    expect(memoryLimitOf({ memoryLimitV1: ' 2048 ', memoryUsageV1: ' 7\n' })).toEqual({ limitBytes: 2048, usedBytes: 7, source: 'cgroup v1 memory.limit_in_bytes' });
    expect(memoryLimitOf({ memoryLimitV1: String(2 ** 60) })).toBeUndefined();
    expect(memoryLimitOf({ memoryLimitV1: String(2 ** 60 - 1024) })).toMatchObject({ limitBytes: 2 ** 60 - 1024 });
  });
});

describe('WORKER_COUNT', () => {
  it('a number: fixed, as before', () => {
    expect(load({ WORKER_COUNT: '4' })).toMatchObject({ workerCount: 4, workerScaling: { mode: 'fixed', min: 4, max: 4 } });
    expect(load({}).workerScaling).toMatchObject({ mode: 'fixed', min: 1, max: 1 });
  });
  it('auto: the quota rounded up (1.5 CPUs gives 2), saying where it came from', () => {
    const config = load({ WORKER_COUNT: 'auto' }, { cpuMax: '150000 100000' }, 16);
    expect(config.workerCount).toBe(2);
    expect(config.workerScaling).toMatchObject({ mode: 'auto', min: 2, max: 2 });
    expect(config.workerScaling.source).toContain('1.5 CPU(s) from cgroup v2 cpu.max (150000 100000)');
  });
  it('auto: the available cores without a quota; clamped to 1..20', () => {
    expect(load({ WORKER_COUNT: 'AUTO' }, {}, 6).workerCount).toBe(6);
    expect(load({ WORKER_COUNT: 'auto' }, {}, 64).workerCount).toBe(MAX_WORKERS);
    expect(load({ WORKER_COUNT: 'auto' }, { cfsQuotaUs: '10000', cfsPeriodUs: '100000' }, 64).workerCount).toBe(1);
  });
  it('MIN-MAX: autoscaled, starting at MIN; MIN-MIN is fixed', () => {
    expect(load({ WORKER_COUNT: '2-8' })).toMatchObject({ workerCount: 2, workerScaling: { mode: 'range', min: 2, max: 8 } });
    expect(load({ WORKER_COUNT: '3-3' }).workerScaling).toMatchObject({ mode: 'fixed', min: 3, max: 3 });
  });
  it.each(['0', '21', '2.5', '4 workers', '', '8-2', '0-4', '1-21', 'auto-8', 'max'])('WORKER_COUNT=%j exits 64 naming it and every allowed form', (bad) => {
    const message = problemOf({ WORKER_COUNT: bad });
    expect(message).toContain(`WORKER_COUNT=${JSON.stringify(bad)} is not valid: a whole number from 1 to 20, "auto"`);
    expect(message).toContain('MIN-MAX to autoscale');
  });
  it('the autoscaling settings are validated', () => {
    expect(load({ AUTOSCALE_INTERVAL_SECONDS: '0.2', AUTOSCALE_QUIET_SECONDS: '1' })).toMatchObject({ autoscaleIntervalSeconds: 0.2, autoscaleQuietSeconds: 1 });
    expect(problemOf({ AUTOSCALE_INTERVAL_SECONDS: '0' })).toContain('AUTOSCALE_INTERVAL_SECONDS="0" is not valid: a number from 0.1 to 3600');
    expect(problemOf({ AUTOSCALE_QUIET_SECONDS: '-1' })).toContain('AUTOSCALE_QUIET_SECONDS="-1" is not valid');
  });
});

describe('QUEUE_NAME with weights', () => {
  it('NAME:WEIGHT on every queue: weighted order; none: strict priority, unchanged', () => {
    expect(load({ QUEUE_NAME: 'emails:3,thumbnails:1' })).toMatchObject({ queues: ['emails', 'thumbnails'], queueWeights: [3, 1] });
    expect(load({ QUEUE_NAME: 'emails,thumbnails' })).toMatchObject({ queues: ['emails', 'thumbnails'], queueWeights: undefined });
  });
  it.each([
    ['emails:3,thumbnails', 'a weight on every queue or on none'],
    ['emails:0,thumbnails:1', 'each weight a whole number from 1 to 1000'],
    ['emails:x,thumbnails:1', 'each weight a whole number from 1 to 1000'],
    ['emails:1.5', 'each weight a whole number from 1 to 1000'],
    ['emails:1001', 'each weight a whole number from 1 to 1000'],
    ['emails:2,emails:1', 'each queue once (emails is listed twice)'],
    [':3', 'a queue name or a comma list of them'],
  ])('QUEUE_NAME=%j exits 64: %s', (bad, allowed) => {
    expect(problemOf({ QUEUE_NAME: bad })).toContain(`QUEUE_NAME=${JSON.stringify(bad)} is not valid: ${allowed}`);
  });
});
