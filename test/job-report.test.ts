import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS_S, bucketOf } from '../src/jobs/durations.js';
import { MergedHistogram } from '../src/health/merged-histogram.js';
import { JobReport, type Report } from '../src/worker/job-report.js';
import { JobStatsByName } from '../src/supervisor/job-stats.js';
import { OTHER_JOB_NAMES } from '../src/jobs/job-names.js';
import { applyReport, newSlot } from '../src/supervisor/slot.js';
import { waitFor } from './helpers/wait.js';

describe('a worker\'s job report', () => {
  it('tallies starts, outcomes, durations and buckets per queue and name, and lists the running jobs', async () => {
    const sent: Report[] = [];
    const report = new JobReport(async (r) => { sent.push(r); }, 50, 60_000);
    const one = report.started('q', '1', 'a');
    const two = report.started('q', '2', 'a');
    const three = report.started('q', '3', 'b');
    report.finished(one, 'completed', 3);
    report.finished(three, 'failed', 700);
    expect(sent).toEqual([]); // nothing leaves before the interval or a flush
    await report.flush();
    expect(sent).toHaveLength(1);
    const [{ tallies, running }] = sent as [Report];
    expect(running.map((j) => [j.queue, j.jobId, j.name])).toEqual([['q', '2', 'a']]);
    const a = tallies.find((t) => t.name === 'a')!;
    expect(a).toMatchObject({ queue: 'q', started: 2, completed: 1, failed: 0, totalMs: 3, maxMs: 3 });
    expect(a.buckets[bucketOf(3)]).toBe(1);
    expect(a.buckets.reduce((x, y) => x + y, 0)).toBe(1);
    expect(tallies.find((t) => t.name === 'b')).toMatchObject({ started: 1, failed: 1, maxMs: 700 });
    // Deltas: the next report carries only what changed since, and an idle worker sends nothing.
    report.finished(two, 'completed', 1);
    await report.flush();
    expect(sent[1]!.tallies).toEqual([expect.objectContaining({ name: 'a', started: 0, completed: 1 })]);
    expect(sent[1]!.running).toEqual([]);
    await report.flush();
    expect(sent).toHaveLength(2);
  });

  it('stops listing a job once its processor ended, whether or not an outcome follows', async () => {
    const sent: Report[] = [];
    const report = new JobReport(async (r) => { sent.push(r); }, 50, 60_000);
    const lost = report.started('q', '1', 'a');
    await report.flush();
    report.ended(lost); // BullMQ could not record it (its lock was lost): no finished() comes
    await report.flush();
    expect(sent).toHaveLength(2); // the end alone is a change worth a report
    expect(sent[1]!.running).toEqual([]);
    expect(sent[1]!.tallies).toEqual([]);
  });

  it('reports on its interval while jobs come and go', async () => {
    const sent: Report[] = [];
    const report = new JobReport(async (r) => { sent.push(r); }, 50, 30);
    report.started('q', '1', 'a');
    await waitFor(() => sent.length === 1, 'the timed report', 2_000, 5);
    expect(sent[0]!.running).toHaveLength(1);
  });

  it('bounds the names it tallies: past the limit they are counted as other', async () => {
    const sent: Report[] = [];
    const report = new JobReport(async (r) => { sent.push(r); }, 2, 60_000);
    ['a', 'b', 'c', 'd', 'a'].forEach((name, i) => report.started('q', String(i), name));
    await report.flush();
    expect(Object.fromEntries(sent[0]!.tallies.map((t) => [t.name, t.started]))).toEqual({ a: 2, b: 1, other: 2 });
    // The running list keeps each job's own name (the fleet page shows it).
    expect(sent[0]!.running.map((j) => j.name)).toEqual(['a', 'b', 'c', 'd', 'a']);
  });
});

describe('the merged duration histogram', () => {
  it('renders exactly what prom-client\'s own Histogram renders for the same durations', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ name: fc.constantFrom('a', 'b'), ms: fc.oneof(fc.double({ min: 0, max: 400_000, noNaN: true }), fc.constantFrom(...DURATION_BUCKETS_S.map((s) => s * 1000))) }), { maxLength: 60 }),
      async (jobs) => {
        const own = new Registry();
        const merged = new Registry();
        const histogram = new Histogram({ name: 'd', help: 'h', labelNames: ['queue', 'name'], buckets: [...DURATION_BUCKETS_S], registers: [own] });
        const ours = new MergedHistogram('d', 'h', ['queue', 'name'], merged);
        for (const name of ['a', 'b']) {
          const mine = jobs.filter((j) => j.name === name);
          if (mine.length === 0) continue;
          const buckets = new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0);
          for (const job of mine) {
            histogram.observe({ queue: 'q', name }, job.ms / 1000);
            buckets[bucketOf(job.ms)]! += 1;
          }
          ours.add({ queue: 'q', name }, buckets, mine.reduce((sum, j) => sum + j.ms / 1000, 0));
        }
        const normalise = (text: string) => text.split('\n').map((line) => line.replace(/ ([\d.e+-]+)$/, (_, v: string) => ` ${Number(Number(v).toPrecision(9))}`)).join('\n');
        expect(normalise(await merged.metrics())).toBe(normalise(await own.metrics()));
      },
    ), { numRuns: 200 });
  });
});

describe('a report applied to its slot', () => {
  const tally = (name: string) => ({ queue: 'q', name, started: 1, completed: 1, failed: 0, moved: 0, totalMs: 2, maxMs: 2, buckets: [1, ...new Array<number>(DURATION_BUCKETS_S.length).fill(0)] });

  it('labels names one at a time: past JOB_NAME_LIMIT within a single report they are other, in the metrics as in /health', () => {
    const slot = newSlot(1, 'w');
    const stats = new JobStatsByName(2);
    const labelled = applyReport(slot, stats, { type: 'report', tallies: ['a', 'b', 'c', 'd'].map(tally), running: [] });
    expect(labelled.map((t) => t.name)).toEqual(['a', 'b', OTHER_JOB_NAMES, OTHER_JOB_NAMES]);
    expect(Object.keys(stats.view())).toEqual(['a', 'b', OTHER_JOB_NAMES]);
    expect(slot.jobs).toMatchObject({ started: 4, completed: 4, active: 0 });
  });

  it('replaces the running list and drops the deadlines of jobs no longer running', () => {
    const slot = newSlot(1, 'w');
    slot.deadlines.set('q:1', { at: 1, timeoutMs: 1 });
    slot.deadlines.set('q:2', { at: 1, timeoutMs: 1 });
    applyReport(slot, new JobStatsByName(), { type: 'report', tallies: [], running: [{ queue: 'q', jobId: '2', name: 'n', startedAt: 5 }] });
    expect([...slot.running]).toEqual([['q:2', { name: 'n', startedAt: 5 }]]);
    expect([...slot.deadlines.keys()]).toEqual(['q:2']);
    expect(slot.jobs.active).toBe(1);
  });
});
