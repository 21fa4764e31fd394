/**
 * The signals that ask a service to stop. SIGHUP is not one: following Gunicorn, it asks for
 * the workers to be replaced (see onRecycleSignal), and under nohup it arrives meaning nothing.
 */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Calls `onSignal` for every shutdown signal; returns a function that removes the handlers. */
export function onShutdownSignal(onSignal: (signal: NodeJS.Signals) => void): () => void {
  const handlers = SHUTDOWN_SIGNALS.map((signal) => {
    const handler = () => onSignal(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
}

/**
 * Gunicorn's convention for changing the number of workers of a running master: SIGTTIN adds
 * one, SIGTTOU removes one (drained, never cut off).
 */
export function onScalingSignal(onChange: (change: 1 | -1) => void): () => void {
  const more = () => onChange(1);
  const fewer = () => onChange(-1);
  process.on('SIGTTIN', more);
  process.on('SIGTTOU', fewer);
  return () => {
    process.off('SIGTTIN', more);
    process.off('SIGTTOU', fewer);
  };
}

/** SIGHUP: replace every worker, one at a time, without cutting a job (Gunicorn's HUP). */
export function onRecycleSignal(onRecycle: () => void): () => void {
  process.on('SIGHUP', onRecycle);
  return () => process.off('SIGHUP', onRecycle);
}

/**
 * SIGTSTP: go quiet — take no new jobs, finish the running ones, stay up until SIGTERM
 * (Sidekiq's TSTP). Handling it also keeps a Ctrl-Z from stopping the supervisor outright.
 */
export function onQuietSignal(onQuiet: () => void): () => void {
  process.on('SIGTSTP', onQuiet);
  return () => process.off('SIGTSTP', onQuiet);
}
