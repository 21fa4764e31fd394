/**
 * A worker's side of the processor contract beyond the default export: `setup(ctx)` once
 * before the first job, `check()` before ready and every PROCESSOR_CHECK_SECONDS, `teardown()`
 * after the last job. Results of check() go to the supervisor (IPC `check`) for /health.
 */
import type { Config } from '../config/config.js';
import { BouyError } from '../errors.js';
import type { CheckReport, WorkerMessage } from '../ipc.js';
import type { Logger } from '../log.js';
import { within } from '../timeout.js';
import type { CheckResult, LoadedProcessor } from './load-processor.js';

/** A check() that has not answered by then counts as failing: "can I work?" must not hang the start. */
const CHECK_TIMEOUT_MS = 10_000;
/** A teardown() that has not finished by then is left behind: the worker exits anyway. */
const TEARDOWN_TIMEOUT_MS = 5_000;

/** Whatever check() did — returned, threw, hung, returned nonsense — as a CheckResult. */
export async function runCheck(check: () => CheckResult | Promise<CheckResult>): Promise<CheckResult> {
  const hung: CheckResult = { ok: false, detail: `check() did not answer within ${CHECK_TIMEOUT_MS / 1000} s` };
  const answer = Promise.resolve().then(check).then(
    (result: unknown) => result,
    (error: unknown): CheckResult => ({ ok: false, detail: `check() threw: ${(error as Error)?.message ?? String(error)}` }),
  );
  const result = (await within(answer, CHECK_TIMEOUT_MS, hung)) as Partial<CheckResult> | null;
  if (typeof result !== 'object' || result === null || typeof result.ok !== 'boolean') {
    return { ok: false, detail: `check() returned ${JSON.stringify(result)}, not { ok: boolean, detail?, hint? }` };
  }
  return {
    ok: result.ok,
    ...(typeof result.detail === 'string' ? { detail: result.detail } : {}),
    ...(typeof result.hint === 'string' ? { hint: result.hint } : {}),
  };
}

export class ProcessorLifecycle {
  private timer: NodeJS.Timeout | undefined;
  /** Each queue's last result, so a check that flips (fails, recovers) is logged once, not every run. */
  private readonly lastOk = new Map<string, boolean>();

  constructor(
    private readonly config: Config,
    private readonly processors: ReadonlyMap<string, LoadedProcessor>,
    private readonly worker: string,
    private readonly log: Logger,
    private readonly send: (message: WorkerMessage) => Promise<void>,
  ) {}

  /**
   * setup() of every queue's processor, then check(). A setup that throws is an init failure
   * like an import error, restarted under the crash-loop rules. A failing check stops the
   * start (BOUY_ERR_PROCESSOR_CHECK) unless PROCESSOR_CHECK=warn.
   */
  async start(): Promise<void> {
    for (const [queue, processor] of this.processors) {
      if (!processor.setup) continue;
      try {
        await processor.setup({ queue, worker: this.worker, log: this.log.child({ queue }) });
      } catch (error) {
        throw new Error(`the processor for queue "${queue}": setup() failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      }
    }
    for (const report of await this.checkAll()) {
      if (report.ok) continue;
      const detail = `the processor check for queue "${report.queue}" failed: ${report.detail ?? 'check() said ok: false'}`;
      if (this.config.processorCheck === 'fail') throw new BouyError('BOUY_ERR_PROCESSOR_CHECK', detail, report.hint === undefined ? {} : { hint: report.hint });
      this.log.warn({ queue: report.queue, hint: report.hint }, `${detail}; starting anyway (PROCESSOR_CHECK=warn)`);
    }
    if (this.config.processorCheckSeconds > 0) {
      this.timer = setInterval(() => void this.checkAll(), this.config.processorCheckSeconds * 1000);
      this.timer.unref();
    }
  }

  /** Runs every check() and reports each result; a change from the last one is logged. */
  private async checkAll(): Promise<CheckReport[]> {
    const reports: CheckReport[] = [];
    for (const [queue, processor] of this.processors) {
      if (!processor.check) continue;
      const report: CheckReport = { queue, ...(await runCheck(processor.check)), checkedAt: Date.now() };
      reports.push(report);
      const before = this.lastOk.get(queue);
      this.lastOk.set(queue, report.ok);
      if (before !== undefined && before !== report.ok) {
        if (report.ok) this.log.info({ queue }, 'processor check passes again');
        else this.log.warn({ queue, detail: report.detail, hint: report.hint }, 'processor check fails');
      }
      void this.send({ type: 'check', ...report });
    }
    return reports;
  }

  /** After the worker's last job: stop checking, teardown() each processor (bounded, errors logged). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const [queue, processor] of this.processors) {
      if (!processor.teardown) continue;
      const done = Promise.resolve().then(() => processor.teardown!()).then(() => true, (error: unknown) => {
        this.log.error({ queue, err: error }, 'processor teardown() failed');
        return true;
      });
      if (!(await within(done, TEARDOWN_TIMEOUT_MS, false))) this.log.warn({ queue }, `processor teardown() did not finish within ${TEARDOWN_TIMEOUT_MS / 1000} s; exiting anyway`);
    }
  }
}
