/** What test/fixtures/singleton-recorder.mjs records when a leader starts or stops its singleton. */
export interface SingletonEvent {
  event: 'start' | 'stop';
  host: string;
  token: number;
  at: number;
}

/**
 * Pairs of hosts whose singletons ran at the same time, by the recorded clock (one machine,
 * one clock): a start while another host's singleton had started and not yet stopped.
 */
export function singletonOverlaps(events: readonly SingletonEvent[]): string[] {
  const running = new Map<string, number>();
  const overlaps: string[] = [];
  for (const e of [...events].sort((a, b) => a.at - b.at || (a.event === 'stop' ? -1 : 1))) {
    if (e.event === 'stop') {
      running.delete(e.host);
      continue;
    }
    for (const [host, since] of running) {
      if (host !== e.host) overlaps.push(`${e.host} started at ${e.at} while ${host} ran since ${since}`);
    }
    running.set(e.host, e.at);
  }
  return overlaps;
}
