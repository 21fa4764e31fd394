// The processor of the `example` queue: bouy runs processors/<queue>.ts for each queue in
// QUEUE_NAME (TypeScript as is on the image's Node 24; import types with `import type`).
// Written by `npx bouy init`: rename it after your queue and make it yours.
import type { CheckResult, Processor, ProcessorContext } from 'bouy';

interface Greeting { name: string }
interface Greeted { greeting: string; by: string }

let worker = '';

/** Once per worker process, before its first job: open clients here. */
export function setup(ctx: ProcessorContext): void {
  worker = ctx.worker;
  ctx.log.info({ queue: ctx.queue }, 'example processor ready');
}

/** At start (and every PROCESSOR_CHECK_SECONDS): can this processor work? */
export function check(): CheckResult {
  return { ok: true };
}

/** One job: its result is stored as the job's return value. */
const greet: Processor<Greeting, Greeted> = async (job, _token, signal) => {
  signal?.throwIfAborted(); // a job timeout or lost lock aborts the signal: pass it on
  return { greeting: `hello, ${job.data.name ?? 'world'}`, by: worker };
};
export default greet;

/** After the worker's last job: close clients here. */
export function teardown(): void {}
