import type { RedisClient as Redis } from '../redis.js';
import { sharedSettings, type Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { within } from '../timeout.js';
import type { RedisClock } from '../registry/redis-clock.js';
import { fingerprint, publishMember, readFleet, withdrawMember, type FleetView } from '../registry/members.js';


export interface FleetPresence {
  readonly fingerprint: string;
  view(): Promise<FleetView | null>;
  stop(): Promise<void>;
}

/**
 * Publishes this supervisor's configuration fingerprint and image version every heartbeat, so
 * any supervisor (and `bouy workers`) can tell when the fleet disagrees — one container on an
 * old image, one with a different QUEUE_NAME — and says so once when it notices. Reading the
 * fleet is one entry per container: a supervisor reads it at its start (a newcomer that
 * disagrees says so at once) and then only while it leads, so each supervisor's cost does not
 * grow with the fleet; /health reads it when asked.
 */
export function joinFleet(config: Config, redis: Redis, log: Logger, clock: RedisClock, isLeader: () => boolean): FleetPresence {
  const settings = sharedSettings(config);
  const print = fingerprint(settings);
  const staleAfterMs = config.staleAfterMs; // a host that stopped re-publishing has left the fleet
  let warned = '';
  let first = true;
  const publish = async () => {
    try {
      await publishMember(redis, config.keyPrefix, { host: config.hostname, fingerprint: print, version: config.imageVersion, settings, at: await clock.now() });
      if (!first && !isLeader()) return;
      first = false;
      const fleet = await readFleet(redis, config.keyPrefix, staleAfterMs, await clock.now());
      const signature = JSON.stringify(fleet.differences);
      if (!fleet.consistent && signature !== warned) {
        log.warn({ differences: fleet.differences, members: fleet.members }, 'the fleet disagrees: supervisors sharing this Redis run different configurations or versions');
      }
      warned = fleet.consistent ? '' : signature;
    } catch (error) {
      log.debug({ err: error }, 'could not publish fleet presence');
    }
  };
  void publish();
  const timer = setInterval(() => void publish(), config.heartbeatSeconds * 1000);
  timer.unref();
  return {
    fingerprint: print,
    view: () => within(clock.now().then((now) => readFleet(redis, config.keyPrefix, staleAfterMs, now)), 1000, null),
    async stop() {
      clearInterval(timer);
      await within(withdrawMember(redis, config.keyPrefix, config.hostname), 1000, undefined);
    },
  };
}
