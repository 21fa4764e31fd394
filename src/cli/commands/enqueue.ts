import { Job, Queue } from 'bullmq';
import { BouyError, EXIT } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { runInsideStack } from '../inside-stack.js';
import { redisUrlOption, stackFleet, withCliRedis } from '../stack-redis.js';
import { openQueue } from '../../queue.js';
import { loadJobDefaults, withJobDefaults } from '../../config/jobs.js';
import { MAX_TIMEOUT_MS, timeoutOptionOf } from '../../jobs/timeout.js';

const MAX_COUNT = 100_000;
const POLL_MS = 200;

function parseData(text: string, queueName: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BouyError('BOUY_ERR_USAGE', `job data ${JSON.stringify(text)} is not JSON: ${(error as Error).message}`, {
      // The user's own queue, not the built-in example's: an app runs `npx bouy` on its queues.
      hint: `quote it for the shell: bouy enqueue ${queueName} '{"key":"value"}'`,
    });
  }
}

/** --timeout (seconds, made the job's `opts.timeout`: jobs/timeout.ts) and --attempts, checked like the api checks them. */
function jobOptions(timeout: unknown, attempts: unknown): { timeout?: number; attempts?: number } {
  const opts: { timeout?: number; attempts?: number } = {};
  if (timeout !== undefined) {
    const maxSeconds = MAX_TIMEOUT_MS / 1000;
    if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= maxSeconds)) {
      throw new BouyError('BOUY_ERR_USAGE', `--timeout ${String(timeout)} is not valid: seconds, more than 0 and at most ${maxSeconds}`);
    }
    opts.timeout = timeoutOptionOf(timeout);
  }
  if (attempts !== undefined) {
    if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > 100) {
      throw new BouyError('BOUY_ERR_USAGE', `--attempts ${String(attempts)} is not valid: a whole number from 1 to 100`);
    }
    opts.attempts = attempts;
  }
  return opts;
}

interface Outcome { id: string; state: string; result?: unknown; error?: string }

/** Polls until every job is completed or failed, or the deadline passes. */
async function waitForJobs(queue: Queue, ids: string[], timeoutS: number): Promise<Outcome[]> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
    if (states.every((s) => s === 'completed' || s === 'failed') || Date.now() > deadline) {
      return Promise.all(ids.map(async (id, i) => {
        const job = await Job.fromId(queue, id);
        return { id, state: states[i]!, result: job?.returnvalue as unknown, ...(job?.failedReason ? { error: job.failedReason } : {}) };
      }));
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export const enqueue: BouyCommand = {
  command: 'enqueue <queue> <data>',
  describe: 'add jobs to a queue, to try the stack',
  builder: (y) => y
    .positional('queue', { type: 'string', describe: 'queue name, e.g. llm' })
    .positional('data', { type: 'string', describe: 'job data as JSON' })
    .options({
      count: { alias: 'n', type: 'number', default: 1, describe: `how many copies (1–${MAX_COUNT})` },
      name: { type: 'string', default: 'bouy-enqueue', describe: 'job name' },
      wait: { type: 'boolean', default: false, describe: 'wait for the jobs to finish and show their results' },
      'wait-timeout': { type: 'number', default: 120, describe: 'seconds --wait waits' },
      timeout: { type: 'number', describe: 'seconds each job may run; past it its AbortSignal fires and it fails "timed out" (default: JOB_TIMEOUT_SECONDS of the workers)' },
      attempts: { type: 'number', describe: 'attempts per job, 1–100 (default: JOB_ATTEMPTS, else 1)' },
      ...redisUrlOption,
    })
    .example('$0 enqueue llm \'{"prompt":"hi"}\'', 'one job for the built-in llm processor')
    .example('$0 enqueue llm \'{"prompt":"x","latency_ms":2000}\' --count 20 --wait', 'twenty slow jobs; wait for them')
    .example('$0 enqueue llm \'{"prompt":"x","latency_ms":5000}\' --timeout 2 --wait', 'a job that times out after 2 s'),
  run: async (ctx, args) => {
    const queueName = String(args.queue);
    if (!/^[A-Za-z0-9_.-]+$/.test(queueName)) {
      throw new BouyError('BOUY_ERR_USAGE', `queue ${JSON.stringify(queueName)} is not valid: letters, digits, _ . -`);
    }
    const data = parseData(String(args.data), queueName);
    const count = args.count as number;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      throw new BouyError('BOUY_ERR_USAGE', `--count ${String(args.count)} is not valid: a whole number from 1 to ${MAX_COUNT}`);
    }
    const opts = jobOptions(args.timeout, args.attempts);
    const defaults = loadJobDefaults(ctx.env);
    const fleet = await stackFleet(ctx, args['redis-url'] as string | undefined);
    if (!fleet) return runInsideStack(ctx);
    const { bullPrefix, redis } = fleet;
    return withCliRedis(redis, async (connection) => {
      const queue = openQueue(queueName, connection, bullPrefix);
      try {
        const jobs = await queue.addBulk(Array.from({ length: count }, () => ({ name: String(args.name), data, opts: withJobDefaults(defaults, opts) })));
        const ids = jobs.map((j) => j.id!);
        ctx.out.info(`added ${ids.length} job(s) to ${queueName}`);
        const outcomes = args.wait ? await waitForJobs(queue, ids, args['wait-timeout'] as number) : undefined;
        ctx.out.result({ queue: queueName, jobs: ids, outcomes }, () => outcomes
          ? outcomes.map((o) => `${o.id}  ${o.state}  ${o.error ?? JSON.stringify(o.result ?? null)}`).join('\n')
          : ids.join('\n'));
        return outcomes && outcomes.some((o) => o.state !== 'completed') ? EXIT.failure : EXIT.ok;
      } finally {
        await queue.close().catch(() => undefined);
      }
    });
  },
};
