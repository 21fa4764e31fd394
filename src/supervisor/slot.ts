import type { ChildProcess } from 'node:child_process';

export type SlotState = 'starting' | 'ready' | 'draining' | 'restarting' | 'crash-loop' | 'stopped';

/** One numbered place in the supervisor's pool; its worker process comes and goes, the name stays. */
export interface Slot {
  readonly index: number;
  readonly name: string;
  state: SlotState;
  child: ChildProcess | undefined;
  pid: number | undefined;
  /** Times this slot's worker was started again after the first. */
  restarts: number;
  startedAt: number | undefined;
  /** Consecutive deaths soon after start; drives crash-loop backoff. */
  quickDeaths: number;
  completed: number;
  failed: number;
  active: number;
  lastExit: string | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  nextStartAt: number | undefined;
}

export function newSlot(index: number, name: string): Slot {
  return {
    index, name, state: 'starting', child: undefined, pid: undefined, restarts: 0, startedAt: undefined,
    quickDeaths: 0, completed: 0, failed: 0, active: 0, lastExit: undefined, restartTimer: undefined, nextStartAt: undefined,
  };
}

export interface SlotView {
  name: string;
  index: number;
  pid: number | null;
  state: SlotState;
  restarts: number;
  uptime_s: number;
  jobs_completed: number;
  jobs_failed: number;
  jobs_active: number;
  last_exit: string | null;
  next_start_in_s: number | null;
}

export function viewSlot(slot: Slot, now = Date.now()): SlotView {
  const live = slot.child !== undefined && slot.startedAt !== undefined;
  return {
    name: slot.name,
    index: slot.index,
    pid: slot.child ? (slot.pid ?? null) : null,
    state: slot.state,
    restarts: slot.restarts,
    uptime_s: live ? Math.round((now - slot.startedAt!) / 100) / 10 : 0,
    jobs_completed: slot.completed,
    jobs_failed: slot.failed,
    jobs_active: slot.active,
    last_exit: slot.lastExit ?? null,
    next_start_in_s: slot.nextStartAt ? Math.max(0, Math.round((slot.nextStartAt - now) / 100) / 10) : null,
  };
}
