import { readFile } from 'node:fs/promises';

/** Linux reports /proc/<pid>/statm in pages; every platform bouy's image runs on uses 4 KiB. */
const PAGE_BYTES = 4096;

/**
 * Resident memory of another process (a worker), read from /proc at scrape time so the figure
 * is current without the worker reporting it. Undefined where /proc is absent (macOS) or the
 * process has just exited.
 */
export async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
    const pages = Number(statm.split(' ')[1]);
    return Number.isFinite(pages) ? pages * PAGE_BYTES : undefined;
  } catch {
    return undefined;
  }
}
