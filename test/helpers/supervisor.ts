import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { freePortRun } from './free-port.js';
import { FIXTURES, runEntrypoint, stopProcess, type Running } from './processes.js';
import type { RedisHa } from './redis-ha.js';
import type { RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

export interface Record { id: string; worker: string; pid?: number; at: number }

export interface TestFleet {
  run: Running;
  queueName: string;
  queue: Queue;
  hostname: string;
  prefix: string;
  recordPrefix: string;
  /**
   * The port its health server bound, read from its log line (HEALTH_PORT, or the next port of
   * the range when something took HEALTH_PORT between freePortRun and the bind); the wanted
   * port until that line came.
   */
  readonly healthPort: number;
  env: { [key: string]: string | undefined };
  started(): Promise<Record[]>;
  finished(): Promise<Record[]>;
  /** Lets a job waiting on `data.gate` (the recording processor) go on. */
  open(gate: string): Promise<void>;
  health(path?: string): Promise<{ status: number; body: any; headers: Headers }>;
  /** SIGTERM, wait for exit, close the queue. */
  close(): Promise<void>;
}

/**
 * Starts `node dist/bundle/entrypoint.js worker` against `redis` with names unique to this test
 * (queue, host, key prefixes, health ports) and the recording fixture as processor. The
 * recordings go to `redis`, or to `options.records` (a plain Redis that no failover touches)
 * when `redis` is a Sentinel set or a cluster.
 */
export async function startFleet(
  redis: RedisServer | RedisHa, env: { [key: string]: string | undefined } = {}, options: { detached?: boolean; records?: RedisServer; cwd?: string } = {},
): Promise<TestFleet> {
  const records = options.records ?? ('url' in redis ? redis : undefined);
  if (!records) throw new Error('startFleet on a Sentinel set or cluster needs options.records');
  const id = randomUUID().slice(0, 8);
  const queueName = env.QUEUE_NAME ?? `q-${id}`;
  const hostname = env.BOUY_HOSTNAME ?? `host${id}`;
  const prefix = env.BOUY_PREFIX ?? `bouy-${id}`;
  const recordPrefix = env.TEST_RECORD_PREFIX ?? `rec-${id}`;
  const wantedPort = env.HEALTH_PORT ? Number(env.HEALTH_PORT) : await freePortRun(3);
  const fullEnv = {
    ...redis.env,
    TEST_RECORD_URL: records.url,
    QUEUE_NAME: queueName,
    BOUY_HOSTNAME: hostname,
    BOUY_PREFIX: prefix,
    PROCESSOR: `${FIXTURES}/record-processor.mjs`,
    TEST_RECORD_PREFIX: recordPrefix,
    HEALTH_PORT: String(wantedPort),
    HEALTH_PORT_RANGE: `${wantedPort}-${wantedPort + 2}`,
    HEALTH_HOST: '127.0.0.1',
    RESTART_DELAY_SECONDS: '0.5',
    LOG_LEVEL: 'debug',
    ...env,
  };
  const run = runEntrypoint(['worker'], fullEnv, options);
  const queue = new Queue(queueName.split(',')[0]!.split(':')[0]!, { // QUEUE_NAME may weigh its queues (a:3,b:1)
    connection: redis.client, prefix: env.BULLMQ_PREFIX ?? ('bullPrefix' in redis ? redis.bullPrefix : 'bull') });
  queue.on('error', () => {}); // tests that stop Redis on purpose
  const list = async (key: string) => (await records.client.lrange(`${recordPrefix}:${key}`, 0, -1)).map((s) => JSON.parse(s) as Record);
  const boundPort = () => {
    const line = run.lines.find((l) => typeof l.port === 'number' && typeof l.msg === 'string' && /^health (server listening on|port \d+ is taken)/.test(l.msg));
    return (line?.port as number | undefined) ?? wantedPort;
  };
  return {
    run, queueName, queue, hostname, prefix, recordPrefix, env: fullEnv,
    get healthPort() { return boundPort(); },
    started: () => list('started'),
    finished: () => list('finished'),
    open: async (gate) => { await records.client.set(`${recordPrefix}:gate:${gate}`, '1'); },
    async health(path = '/health') {
      const response = await fetch(`http://127.0.0.1:${boundPort()}${path}`);
      return { status: response.status, body: await response.json(), headers: response.headers };
    },
    async close() {
      await stopProcess(run);
      await queue.close();
    },
  };
}

/**
 * Waits until `count` jobs of the fleet's first queue are completed in BullMQ. The recording
 * processor writes its finish just before BullMQ commits the job, so tests that then look at
 * job states or counters wait for this instead.
 */
export function completedJobs(fleet: TestFleet, count: number, timeoutMs = 30_000) {
  return waitFor(async () => ((await fleet.queue.getJobCounts('completed')).completed ?? 0) >= count, `${count} jobs completed`, timeoutMs);
}

/** Waits until the supervisor logs that all its workers are ready. */
export function allReady(fleet: TestFleet, timeoutMs = 30_000) {
  return fleet.run.waitForLog((l) => typeof l.msg === 'string' && /^all \d+ worker\(s\) ready$/.test(l.msg), 'all workers ready', timeoutMs);
}

/**
 * Starts a fleet, runs `work` with it and always closes it (SIGTERM, wait, close the queue),
 * whether `work` passed or threw: the start / try / finally-close of every fleet test.
 */
export async function withFleet<T>(
  redis: RedisServer, env: { [key: string]: string | undefined }, work: (fleet: TestFleet) => Promise<T>, options: { detached?: boolean } = {},
): Promise<T> {
  const fleet = await startFleet(redis, env, options);
  try {
    return await work(fleet);
  } finally {
    await fleet.close();
  }
}

/** The fleets whose /health says they lead now (one that does not answer does not lead). */
export async function leadersOf(fleets: readonly TestFleet[]): Promise<TestFleet[]> {
  const flags = await Promise.all(fleets.map(async (f) => (await f.health().catch(() => ({ body: { leader: false } }))).body.leader === true));
  return fleets.filter((_, i) => flags[i]);
}
