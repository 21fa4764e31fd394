import { describe, expect, it } from 'vitest';
import { Problems } from '../../src/config/parse.js';
import { parseSchedules } from '../../src/config/schedules.js';

function parse(value: string | undefined) {
  const problems = new Problems();
  const schedules = parseSchedules({ SCHEDULES: value }, problems);
  return { schedules, problems: problems.list };
}

const ENTRY_HELP = 'an object with "queue" (a queue name), "id", exactly one of "every" (whole ms ≥ 1000) or "pattern" (cron), optional "name" and "data" (object)';

describe('SCHEDULES', () => {
  it('unset, empty or blank: no schedules', () => {
    for (const value of [undefined, '', '  ']) expect(parse(value)).toEqual({ schedules: [], problems: [] });
  });

  it('an "every" entry and a cron "pattern" entry, with their defaults', () => {
    const { schedules, problems } = parse(JSON.stringify([
      { queue: 'llm', id: 'tick', every: 1000 },
      { queue: 'q.v2', id: 'nightly', name: 'report', pattern: '0 3 * * *', data: { full: true } },
    ]));
    expect(problems).toEqual([]);
    expect(schedules).toEqual([
      { queue: 'llm', id: 'tick', name: 'tick', every: 1000, pattern: undefined, data: {} },
      { queue: 'q.v2', id: 'nightly', name: 'report', every: undefined, pattern: '0 3 * * *', data: { full: true } },
    ]);
  });

  it('refuses what is not a JSON array, saying what is', () => {
    const notJson = parse('[{');
    expect(notJson.schedules).toEqual([]);
    expect(notJson.problems).toHaveLength(1);
    expect(notJson.problems[0]).toMatch(/^SCHEDULES="\[\{" is not valid: a JSON array of \{"queue","id","every" \(ms\) or "pattern" \(cron\), "name"\?, "data"\?\} \(.+\)$/);
    expect(parse('{"queue":"q"}').problems).toEqual(['SCHEDULES="{\\"queue\\":\\"q\\"}" is not valid: a JSON array of {"queue","id","every" (ms) or "pattern" (cron), "name"?, "data"?}']);
  });

  it.each([
    [{ id: 'x', every: 1000 }],
    [{ queue: 'a b', id: 'x', every: 1000 }],
    [{ queue: 7, id: 'x', every: 1000 }],
    [{ queue: 'q', every: 1000 }],
    [{ queue: 'q', id: '', every: 1000 }],
    [{ queue: 'q', id: 'x', every: 999 }],
    [{ queue: 'q', id: 'x', every: 1000.5 }],
    [{ queue: 'q', id: 'x', every: '1000' }],
    [{ queue: 'q', id: 'x' }],
    [{ queue: 'q', id: 'x', every: 1000, pattern: '* * * * *' }],
    [{ queue: 'q', id: 'x', pattern: ' ' }],
    [{ queue: 'q', id: 'x', pattern: 5 }],
    [{ queue: 'q', id: 'x', every: 1000, data: [] }],
    [{ queue: 'q', id: 'x', every: 1000, data: null }],
    [{ queue: 'q', id: 'x', every: 1000, data: 'text' }],
    [null],
  ])('refuses the entry %j naming its index and what an entry is', (entry) => {
    const { schedules, problems } = parse(JSON.stringify([{ queue: 'ok', id: 'fine', every: 5000 }, entry]));
    expect(schedules.map((s) => s.id)).toEqual(['fine']);
    expect(problems).toEqual([`SCHEDULES[1]=${JSON.stringify(JSON.stringify(entry))} is not valid: ${ENTRY_HELP}`]);
  });

  it('refuses a cron pattern BullMQ could not run, with cron-parser\'s reason', () => {
    const { schedules, problems } = parse(JSON.stringify([{ queue: 'q', id: 'x', pattern: '61 * * * *' }]));
    expect(schedules).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SCHEDULES\[0\]\.pattern="61 \* \* \* \*" is not valid: a cron pattern BullMQ can run, e\.g\. "\*\/5 \* \* \* \*" \(.+\)$/);
  });

  it('a name that is not a string falls back to the id', () => {
    expect(parse(JSON.stringify([{ queue: 'q', id: 'x', every: 2000, name: 3 }])).schedules[0]!.name).toBe('x');
  });
});
