import { describe, expect, it } from 'vitest';
import { Problems } from '../../src/config/parse.js';
import { describeQueues, MAX_QUEUE_WEIGHT, parseQueueList } from '../../src/config/queue-list.js';
import { parseWorkerCount, workerCountForms } from '../../src/config/worker-count.js';

function queuesOf(value: string | undefined): { list: ReturnType<typeof parseQueueList>; problems: string[] } {
  const problems = new Problems();
  const list = parseQueueList(value === undefined ? {} : { QUEUE_NAME: value }, problems);
  return { list, problems: problems.list };
}

describe('QUEUE_NAME', () => {
  it('names in order, trimmed; weights up to the maximum, frozen; read back as configured', () => {
    expect(queuesOf(undefined)).toEqual({ list: { queues: ['llm'], weights: undefined }, problems: [] });
    expect(queuesOf(' a , b ')).toEqual({ list: { queues: ['a', 'b'], weights: undefined }, problems: [] });
    const weighted = queuesOf(`a:${MAX_QUEUE_WEIGHT},b:1,c:10`).list;
    expect(weighted).toEqual({ queues: ['a', 'b', 'c'], weights: [MAX_QUEUE_WEIGHT, 1, 10] });
    expect(Object.isFrozen(weighted.queues) && Object.isFrozen(weighted.weights)).toBe(true);
    expect(describeQueues(weighted)).toBe(`a:${MAX_QUEUE_WEIGHT},b:1,c:10`);
    expect(describeQueues({ queues: ['a', 'b'], weights: undefined })).toBe('a,b');
  });

  it('a bad list falls back to the default queue, strict priority, naming what is wrong', () => {
    const fallback = { queues: ['llm'], weights: undefined };
    for (const [value, why] of [
      ['a b', 'a queue name or a comma list of them (letters, digits, _ . -), highest priority first; or NAME:WEIGHT for every queue (weights 1-1000, e.g. emails:3,thumbnails:1) to share fetches by weight'],
      ['a:3,b', 'a weight on every queue or on none (strict priority): e.g. emails:3,thumbnails:1'],
      [`a:${MAX_QUEUE_WEIGHT + 1},b:1`, "each weight a whole number from 1 to 1000 (the queue's share of fetches), e.g. emails:3,thumbnails:1"],
      ['a:0,b:1', "each weight a whole number from 1 to 1000 (the queue's share of fetches), e.g. emails:3,thumbnails:1"],
    ] as const) {
      expect(queuesOf(value)).toEqual({ list: fallback, problems: [`QUEUE_NAME=${JSON.stringify(value)} is not valid: ${why}`] });
    }
  });
});

describe('WORKER_COUNT, where each count comes from', () => {
  const read = (value: string | undefined) => {
    const problems = new Problems();
    const scaling = parseWorkerCount(value === undefined ? {} : { WORKER_COUNT: value }, problems, 20, () => ({}), () => 2);
    return { scaling, problems: problems.list };
  };

  it('unset, a number, MIN-MIN, MIN-MAX: each with its source', () => {
    expect(read(undefined)).toEqual({ scaling: { mode: 'fixed', min: 1, max: 1, source: 'default' }, problems: [] });
    expect(read('1').scaling).toEqual({ mode: 'fixed', min: 1, max: 1, source: 'WORKER_COUNT' });
    expect(read('20').scaling).toEqual({ mode: 'fixed', min: 20, max: 20, source: 'WORKER_COUNT' });
    expect(read('12').scaling).toEqual({ mode: 'fixed', min: 12, max: 12, source: 'WORKER_COUNT' });
    expect(read('3-3').scaling).toEqual({ mode: 'fixed', min: 3, max: 3, source: 'WORKER_COUNT' });
    expect(read('1-20').scaling).toEqual({ mode: 'range', min: 1, max: 20, source: 'WORKER_COUNT=1-20 (autoscaled)' });
  });

  it('anything else: the default, and the forms allowed named', () => {
    for (const bad of ['0', '21', '0-2', '3-2', '1-21', '123', 'many']) {
      expect(read(bad)).toEqual({ scaling: { mode: 'fixed', min: 1, max: 1, source: 'default' }, problems: [`WORKER_COUNT=${JSON.stringify(bad)} is not valid: ${workerCountForms(20)}`] });
    }
  });
});
