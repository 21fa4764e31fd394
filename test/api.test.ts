import { randomUUID } from 'node:crypto';
import { QueueKeys } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { apiForThisFile, startApi } from './helpers/api.js';
import { freePort } from './helpers/free-port.js';
import { runEntrypoint, stopProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const queue = `api-${randomUUID().slice(0, 8)}`;
const shared = apiForThisFile(() => ({ QUEUE_NAME: queue }));

/** Every name BullMQ keeps under `bull:<queue>:`, from BullMQ itself, plus the ones its scripts build by hand. */
const BULLMQ_KEY_NAMES = [
  ...Object.keys(new QueueKeys('bull').getKeys(queue)).filter((name) => name !== ''),
  'waiting', 'priority', 'delay', 'metrics', 'dn', 'stalled-check', 'waiting-children',
];

/** Writes since the last save: a counter Redis bumps on every change (the test Redis never saves). */
async function writesSoFar(): Promise<number> {
  const info = await shared.redis.client.info('persistence');
  return Number(/rdb_changes_since_last_save:(\d+)/.exec(info)![1]);
}

/**
 * The write count once nothing is writing any more: a freshly started api's BullMQ Queues write
 * their metadata shortly after it listens (seen +2 on a busy machine), which no request caused.
 */
async function settledWrites(): Promise<number> {
  let last: number | undefined;
  // Settled: the same count in two reads 300 ms apart (the first read only sets `last`).
  const settled = await waitFor(async () => {
    const now = await writesSoFar();
    const same = now === last;
    last = now;
    return same && { writes: now };
  }, 'the api\'s start-up writes to settle', 20_000, 300);
  return settled.writes;
}

describe('api: job ids that would poison the queue (issue 8, item 7)', () => {
  it('refuses opts.jobId naming a BullMQ key of the queue, or integer-like, with a 400 naming opts.jobId; GETs of such ids are 404', async () => {
    expect(BULLMQ_KEY_NAMES).toEqual(expect.arrayContaining(['active', 'wait', 'meta', 'id', 'events', 'marker', 'de', 'pc']));
    const refused: string[] = [];
    for (const jobId of [...BULLMQ_KEY_NAMES, '1', '42', '-3', '007']) {
      const answer = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: { x: 1 }, opts: { jobId } } });
      if (answer.status !== 400 || !String(answer.json.message).includes('opts.jobId')) refused.push(`${jobId}: ${answer.status} ${answer.text}`);
    }
    expect(refused).toEqual([]);
    // no job hash was written over any of BullMQ's own keys
    for (const name of BULLMQ_KEY_NAMES) {
      expect(await shared.redis.client.hexists(`bull:${queue}:${name}`, 'data').catch(() => 0), name).toBe(0);
    }
    const gets: string[] = [];
    for (const id of [...BULLMQ_KEY_NAMES, 'a:b', 'x:logs']) {
      const answer = await shared.api.call('GET', `/jobs/${queue}/${encodeURIComponent(id)}`);
      if (answer.status !== 404) gets.push(`${id}: ${answer.status} ${answer.text}`);
    }
    expect(gets).toEqual([]);
    const longest = 'é'.repeat(200);
    expect((await shared.api.call('POST', `/jobs/${queue}`, { body: { data: {}, opts: { jobId: longest } } })).status).toBe(202);
    expect((await shared.api.call('GET', `/jobs/${queue}/${encodeURIComponent(longest)}`)).json).toMatchObject({ id: longest });
    const ok = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: { x: 1 }, opts: { jobId: 'order-7' } } });
    expect(ok.status).toBe(202);
    expect((await shared.api.call('GET', `/jobs/${queue}/order-7`)).json).toMatchObject({ id: 'order-7', state: 'waiting' });
  });
});

describe('api: bad requests are a 4xx naming the reason (issue 8, item 9)', () => {
  it('answers JSON nested 5,000 deep with a 400', async () => {
    const deep = `{"data":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const answer = await shared.api.call('POST', `/jobs/${queue}`, { raw: deep });
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(/nested/);
  });

  it('refuses unknown fields and options and values of the wrong type, naming them; nothing is coerced or written', async () => {
    const before = await writesSoFar();
    const cases: Array<[unknown, string]> = [
      [{ data: {}, extra: 1 }, 'extra'],
      [{ data: {}, opts: { lifo: true } }, 'opts.lifo'],
      [{ data: {}, opts: { removeOnComplete: true, delay: 5 } }, 'opts.removeOnComplete'],
      [{ data: {}, opts: { delay: '100' } }, 'opts.delay'],
      [{ data: {}, opts: { attempts: '3' } }, 'opts.attempts'],
      [{ data: {}, name: 5 }, 'name'],
      [{ data: [] }, 'data'],
    ];
    for (const [body, field] of cases) {
      const answer = await shared.api.call('POST', `/jobs/${queue}`, { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(String(answer.json.message), JSON.stringify(body)).toContain(field);
    }
    expect(await writesSoFar()).toBe(before);
  });

  it('bounds delay to one year (31536000000 ms)', async () => {
    const tooLong = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: {}, opts: { delay: 31_536_000_001 } } });
    expect(tooLong.status).toBe(400);
    expect(String(tooLong.json.message)).toContain('opts.delay');
    expect(String(tooLong.json.message)).toContain('31536000000');
    const year = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: {}, opts: { delay: 31_536_000_000 } } });
    expect(year.status).toBe(202);
  });

  it('answers a duplicate jobId with 200 and the existing job, and adds nothing', async () => {
    const first = await shared.api.call('POST', `/jobs/${queue}`, { body: { name: 'a', data: { n: 1 }, opts: { jobId: 'dup-1' } } });
    expect(first.status).toBe(202);
    const again = await shared.api.call('POST', `/jobs/${queue}`, { body: { name: 'b', data: { n: 2 }, opts: { jobId: 'dup-1' } } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: 'dup-1', queue, name: 'a', state: 'waiting', duplicate: true });
    expect(JSON.parse((await shared.redis.client.hget(`bull:${queue}:dup-1`, 'data'))!)).toEqual({ n: 1 });
  });

  it('answers concurrent requests for one jobId with one 202 and 200s, the stored job being the 202 one', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => shared.api.call('POST', `/jobs/${queue}`, { body: { data: { n }, opts: { jobId: 'race-1' } } })));
    const created = answers.filter((a) => a.status === 202);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    const stored = JSON.parse((await shared.redis.client.hget(`bull:${queue}:race-1`, 'data'))!) as { n: number };
    expect(answers.indexOf(created[0]!)).toBe(stored.n);
  });

  it('logs a 500 with pino (here: a foreign key of the wrong type where a job would be)', async () => {
    await shared.redis.client.set(`bull:${queue}:broken`, 'not a job');
    const answer = await shared.api.call('GET', `/jobs/${queue}/broken`);
    expect(answer.status).toBe(500);
    const line = await shared.api.run.waitForLog((l) => l.level === 50 && JSON.stringify(l).includes('WRONGTYPE'), 'the 500 logged at error level', 5_000);
    expect(JSON.stringify(line)).toContain(`/jobs/${queue}/broken`);
  });
});

describe('api authentication (issue 8, item 11)', () => {
  const TOKEN = `tok-${randomUUID()}`;

  it('refuses to start on a non-loopback address without API_TOKEN (exit 64, saying how), unless API_AUTH=none', async () => {
    const port = await freePort();
    const refused = runEntrypoint(['api'], { REDIS_URL: shared.redis.url, API_HOST: '0.0.0.0', API_PORT: String(port), QUEUE_NAME: queue });
    const exit = await Promise.race([refused.exited, waitFor(() => fetch(`http://127.0.0.1:${port}/livez`).then((r) => r.ok, () => false), 'api up', 10_000).then(() => 'listening')]);
    if (exit === 'listening') await stopProcess(refused);
    expect(exit).toMatchObject({ code: 64 });
    const said = refused.stderr.join('\n');
    expect(said).toContain('API_TOKEN');
    expect(said).toContain('API_AUTH=none');

    const open = await startApi(shared.redis.url, { API_HOST: '0.0.0.0', API_AUTH: 'none', QUEUE_NAME: queue });
    await stopProcess(open.run);
    const local = await startApi(shared.redis.url, { API_HOST: 'localhost', QUEUE_NAME: queue });
    expect((await local.call('POST', `/jobs/${queue}`, { body: { data: {} } })).status).toBe(202);
    await stopProcess(local.run);
    expect((await local.run.exited).code).toBe(0);
  });

  it('refuses an API_TOKEN shorter than 16 characters without echoing it', async () => {
    const port = await freePort();
    const run = runEntrypoint(['api'], { REDIS_URL: shared.redis.url, API_HOST: '127.0.0.1', API_PORT: String(port), API_TOKEN: 'short-secret' });
    const exit = await Promise.race([run.exited, waitFor(() => fetch(`http://127.0.0.1:${port}/livez`).then((r) => r.ok, () => false), 'api up', 10_000).then(() => 'running')]);
    if (exit === 'running') await stopProcess(run);
    expect(exit).toMatchObject({ code: 64 });
    expect(run.stderr.join('\n')).toContain('API_TOKEN');
    expect(run.stderr.join('\n') + run.stdout.join('\n')).not.toContain('short-secret');
  });

  it('needs the bearer token for every route but /livez and /readyz, writes nothing for anyone else, and never shows the token', async () => {
    const secured = await startApi(shared.redis.url, { API_TOKEN: TOKEN, QUEUE_NAME: queue });
    const seen: string[] = [];
    try {
      const before = await settledWrites();
      const anonymous = [
        await secured.call('POST', `/jobs/${queue}`, { body: { data: {} } }),
        await secured.call('POST', `/jobs/${queue}`, { body: { data: {} }, token: `${TOKEN}x` }),
        await secured.call('POST', `/jobs/${queue}`, { body: { data: {} }, headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` } }),
        await secured.call('POST', `/jobs/${queue}`, { body: { data: {} }, headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } }),
        await secured.call('GET', `/jobs/${queue}/order-7`),
        await secured.call('GET', '/nowhere'),
        await secured.call('DELETE', `/jobs/${queue}/order-7`),
      ];
      expect(anonymous.map((a) => a.status)).toEqual(anonymous.map(() => 401));
      expect(await writesSoFar()).toBe(before);
      expect((await secured.call('GET', '/livez')).status).toBe(200);
      expect((await secured.call('GET', '/readyz')).status).toBe(200);

      const added = await secured.call('POST', `/jobs/${queue}`, { body: { data: { ok: true } }, token: TOKEN });
      expect(added.status).toBe(202);
      const read = await secured.call('GET', `/jobs/${queue}/${String(added.json.id)}`, { token: TOKEN });
      expect(read.status).toBe(200);
      const bad = await secured.call('POST', `/jobs/${queue}`, { body: { data: {}, opts: { jobId: 'wait' } }, token: TOKEN });
      expect(bad.status).toBe(400);
      seen.push(...[...anonymous, added, read, bad].map((a) => a.text + JSON.stringify([...a.headers])));
    } finally {
      await stopProcess(secured.run);
    }
    const everything = [...seen, ...secured.run.stdout, ...secured.run.stderr].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.slice(4, 20));
  });
});
