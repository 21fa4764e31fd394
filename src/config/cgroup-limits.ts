import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * What the kernel lets this container use, read from its cgroup: the CPU quota (for
 * WORKER_COUNT=auto) and the memory limit (the ceiling autoscaling stays under). The parsers
 * are pure functions over the files' contents so every layout is testable without one;
 * `readCgroupFiles` is the only part that touches the file system.
 */

/** The cgroup files that matter, as text; undefined where a file is absent (not Linux, no cgroup). */
export interface CgroupFiles {
  /** cgroup v2 `cpu.max`: "QUOTA PERIOD" or "max PERIOD". */
  cpuMax?: string | undefined;
  /** cgroup v1 `cpu.cfs_quota_us` (-1: no quota) and `cpu.cfs_period_us`. */
  cfsQuotaUs?: string | undefined;
  cfsPeriodUs?: string | undefined;
  /** cgroup v2 `memory.max` ("max": none) and `memory.current`. */
  memoryMax?: string | undefined;
  memoryCurrent?: string | undefined;
  /** cgroup v1 `memory.limit_in_bytes` (a huge number: none) and `memory.usage_in_bytes`. */
  memoryLimitV1?: string | undefined;
  memoryUsageV1?: string | undefined;
}

export interface CpuLimit {
  /** CPUs this container may use (a fraction under a quota). */
  cpus: number;
  /** Where the number came from, for the log line and /health. */
  source: string;
}

/**
 * The CPUs a quota grants, or the available cores when no quota is set (v2's "max", v1's -1,
 * files missing or unreadable): v2 wins over v1 when both are present, as the kernel uses one.
 */
export function cpuLimitOf(files: CgroupFiles, availableCores: number): CpuLimit {
  const v2 = /^(\d+)\s+(\d+)$/.exec(files.cpuMax?.trim() ?? '');
  if (v2 && Number(v2[2]) > 0) {
    return { cpus: Number(v2[1]) / Number(v2[2]), source: `cgroup v2 cpu.max (${v2[1]} ${v2[2]})` };
  }
  const quota = Number(files.cfsQuotaUs?.trim() ?? '');
  const period = Number(files.cfsPeriodUs?.trim() ?? '');
  if (files.cfsQuotaUs !== undefined && Number.isInteger(quota) && quota > 0 && Number.isInteger(period) && period > 0) {
    return { cpus: quota / period, source: `cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us (${quota}/${period})` };
  }
  return { cpus: availableCores, source: 'available cores (no cgroup CPU quota)' };
}

/** A v1 "no limit" is the largest page-aligned long, ~8 EiB: anything past 2^60 bytes is none. */
const NO_LIMIT_V1 = 2 ** 60;

export interface MemoryLimit {
  /** The container's memory limit in bytes. */
  limitBytes: number;
  /** What the cgroup uses now (the figure the limit is enforced against), when it says so. */
  usedBytes: number | undefined;
  source: string;
}

/** The container's memory limit and current use; undefined when no limit is set. */
export function memoryLimitOf(files: CgroupFiles): MemoryLimit | undefined {
  const wholeBytes = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined);
  const v2 = wholeBytes(files.memoryMax);
  if (v2 !== undefined) return { limitBytes: v2, usedBytes: wholeBytes(files.memoryCurrent), source: 'cgroup v2 memory.max' };
  if (files.memoryMax?.trim() === 'max') return undefined;
  const v1 = wholeBytes(files.memoryLimitV1);
  if (v1 !== undefined && v1 < NO_LIMIT_V1) return { limitBytes: v1, usedBytes: wholeBytes(files.memoryUsageV1), source: 'cgroup v1 memory.limit_in_bytes' };
  return undefined;
}

const ROOT = '/sys/fs/cgroup';

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * This process's cgroup files. In a container the cgroup namespace (v2) or Docker's bind mount
 * (v1) puts the container's own cgroup at the root of /sys/fs/cgroup; v1 names the CPU
 * controller `cpu` or `cpu,cpuacct`.
 */
export function readCgroupFiles(root = ROOT): CgroupFiles {
  const v1Cpu = readOptional(`${root}/cpu/cpu.cfs_quota_us`) !== undefined ? `${root}/cpu` : `${root}/cpu,cpuacct`;
  return {
    cpuMax: readOptional(`${root}/cpu.max`),
    cfsQuotaUs: readOptional(`${v1Cpu}/cpu.cfs_quota_us`),
    cfsPeriodUs: readOptional(`${v1Cpu}/cpu.cfs_period_us`),
    memoryMax: readOptional(`${root}/memory.max`),
    memoryCurrent: readOptional(`${root}/memory.current`),
    memoryLimitV1: readOptional(`${root}/memory/memory.limit_in_bytes`),
    memoryUsageV1: readOptional(`${root}/memory/memory.usage_in_bytes`),
  };
}

/** The cores Node may run on here (affinity-aware where the platform says). */
export function availableCores(): number {
  return os.availableParallelism();
}
