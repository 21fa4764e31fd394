/**
 * The pid of the supervisor that forked this worker, which it passes in BOUY_SUPERVISOR_PID.
 * `process.ppid` read at start is not good enough: a supervisor killed while its worker was
 * still loading its modules (a few hundred ms on a busy machine) has already handed the worker
 * to init, and the worker would take init for its supervisor and never notice it is orphaned.
 */
export function supervisorPid(): number {
  const pid = Number(process.env.BOUY_SUPERVISOR_PID);
  return Number.isInteger(pid) && pid > 0 ? pid : process.ppid;
}

/** True once the supervisor that forked this worker is gone (the worker was handed to another parent). */
export function supervisorGone(): boolean {
  return process.ppid !== supervisorPid();
}
