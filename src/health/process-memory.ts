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

/**
 * Proportional set size of a process (`Pss` of /proc/<pid>/smaps_rollup): its private pages
 * plus its share of those it maps with others — what a container's memory accounting charges
 * for one more such process, where RSS counts Node's shared binary again in each. Falls back to
 * RSS where smaps_rollup is absent (kernels before 4.14, macOS: undefined there too).
 */
export async function proportionalBytes(pid: number): Promise<number | undefined> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const match = /^Pss:\s+(\d+) kB/m.exec(rollup);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // absent or exited: RSS below says which
  }
  return residentBytes(pid);
}
