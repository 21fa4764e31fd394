import type { Logger } from '../log.js';
/**
 * The start-up verification: once every worker is ready, are they configured identically (a
 * worker started from another image or environment would otherwise go unnoticed)? Each worker reports its effective settings; the value most workers agree on
 * is taken as the expected one and every worker that differs is listed as expected vs got.
 */
export interface WorkerReport {
  name: string;
  settings: Record<string, unknown>;
}

export interface Mismatch {
  worker: string;
  setting: string;
  expected: unknown;
  got: unknown;
}

export interface Verification {
  identical: boolean;
  shared: Record<string, unknown>;
  mismatches: Mismatch[];
}

const key = (value: unknown) => JSON.stringify(value) ?? 'undefined';

export function verifyWorkers(reports: readonly WorkerReport[]): Verification {
  const settings = new Set(reports.flatMap((r) => Object.keys(r.settings)));
  const shared: Record<string, unknown> = {};
  const mismatches: Mismatch[] = [];
  for (const setting of [...settings].sort()) {
    const tally = new Map<string, { value: unknown; count: number }>();
    for (const report of reports) {
      const value = report.settings[setting];
      const entry = tally.get(key(value)) ?? { value, count: 0 };
      entry.count += 1;
      tally.set(key(value), entry);
    }
    // Map keeps insertion order, so a tie goes to the lowest-numbered worker.
    const expected = [...tally.values()].reduce((best, entry) => (entry.count > best.count ? entry : best)).value;
    shared[setting] = expected;
    for (const report of reports) {
      if (key(report.settings[setting]) !== key(expected)) {
        mismatches.push({ worker: report.name, setting, expected, got: report.settings[setting] });
      }
    }
  }
  return { identical: mismatches.length === 0, shared, mismatches };
}

/** The banner as lines of text, for humans reading the log. */
export function bannerLines(count: number, verification: Verification): string[] {
  const rule = '='.repeat(70);
  const lines = [rule, `WORKER VERIFICATION: ${count} workers ready`, rule];
  if (verification.identical) {
    lines.push(`${count} workers ready, all configured identically`, 'Shared configuration:');
    for (const [name, value] of Object.entries(verification.shared)) lines.push(`   ${name}: ${JSON.stringify(value)}`);
  } else {
    lines.push(`configuration mismatch in ${new Set(verification.mismatches.map((m) => m.worker)).size} worker(s):`);
    for (const m of verification.mismatches) {
      lines.push(`   ${m.worker}: ${m.setting} expected ${JSON.stringify(m.expected)} got ${JSON.stringify(m.got)}`);
    }
  }
  lines.push(rule);
  return lines;
}

/**
 * The verification banner. Its text lists the settings once (as fields too, pretty logs printed
 * it twice); the fields say only whether all agree and how many do not (/health has the rest).
 */
export function logBanner(log: Logger, count: number, verification: Verification): void {
  const fields = { identical: verification.identical, mismatched: verification.mismatches.length };
  const text = bannerLines(count, verification).join('\n');
  if (verification.identical) log.info(fields, text);
  else log.warn(fields, text);
}
