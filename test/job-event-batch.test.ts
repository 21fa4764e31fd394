import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../src/ipc.js';
import { JobEventBatch } from '../src/worker/job-event-batch.js';
import { waitFor } from './helpers/wait.js';

const started = (jobId: string): JobEvent => ({ kind: 'started', queue: 'q', jobId, jobName: 'n' });

describe('job event batches', () => {
  it('sends a full batch at once, in order', async () => {
    const sent: JobEvent[][] = [];
    const batch = new JobEventBatch(async (events) => { sent.push(events); }, 3, 60_000);
    ['1', '2', '3', '4'].forEach((id) => batch.add(started(id)));
    expect(sent.map((b) => b.map((e) => e.jobId))).toEqual([['1', '2', '3']]);
    await batch.flush();
    expect(sent.map((b) => b.map((e) => e.jobId))).toEqual([['1', '2', '3'], ['4']]);
  });

  it('sends a partial batch after the flush interval, and nothing when empty', async () => {
    const sent: JobEvent[][] = [];
    const batch = new JobEventBatch(async (events) => { sent.push(events); }, 100, 20);
    batch.add(started('a'));
    expect(sent).toEqual([]);
    await waitFor(() => sent.length === 1, 'the timed flush', 2_000, 5);
    await batch.flush();
    expect(sent).toHaveLength(1);
  });
});
