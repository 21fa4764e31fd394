/**
 * Whether a worker that asks to be recycled should be. A recycle replaces a healthy worker to
 * shed leaked memory or state; it is refused when it could only repeat: a worker over the
 * memory limit before it ran a single job would be replaced by another just like it.
 */
import type { RecycleReason } from '../ipc.js';

export type RecycleDecision = { recycle: true } | { recycle: false; why: string };

export function decideRecycle(reason: RecycleReason, jobsDone: number, rssMb: number, maxMemoryMb: number): RecycleDecision {
  if (reason === 'max-memory' && jobsDone === 0) {
    return {
      recycle: false,
      why: `a fresh worker already uses ${rssMb} MiB, over MAX_MEMORY_MB=${maxMemoryMb}: recycling would loop; raise MAX_MEMORY_MB`,
    };
  }
  return { recycle: true };
}
