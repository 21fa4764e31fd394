import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { BouyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient as Redis } from '../redis.js';
import { isAlive } from './local-process.js';
import { registryKeys } from './keys.js';

/** Who holds a BOUY_HOSTNAME: one supervisor run. */
interface Holder {
  run: string;
  pid: number;
  /** The machine it runs on (os.hostname() and the kernel's boot id): its pid means something only there. */
  machine: string;
  /** Renewals so far: a holder whose count moves is alive. */
  beat: number;
}

/**
 * Renews the claim if it is still this run's (or gone); else `other` is the holder's value. A
 * part of the container heartbeat's script (KEYS[2], ARGV[1..3]: run, value, expiry): one
 * round trip a heartbeat renews the claim and writes the workers' heartbeats.
 */
export const RENEW_PART = `
local claimed = redis.call('GET', KEYS[2])
local other = false
if claimed and string.find(claimed, ARGV[1], 1, true) == nil then other = claimed
else redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end`;

/** Deletes the claim only if it is still this run's. */
const RELEASE = `
local held = redis.call('GET', KEYS[1])
if held and string.find(held, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end
return 0`;



function machineId(): string {
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // no /proc: the pid check below is skipped, the holder is watched instead
  }
  return `${os.hostname()}/${boot}`;
}

function parse(value: string | null): Holder | undefined {
  try {
    return value ? (JSON.parse(value) as Holder) : undefined;
  } catch {
    return undefined;
  }
}

export interface HostnameClaim {
  readonly key: string;
  /** ARGV of RENEW_PART for the next renewal (every heartbeat, by the container heartbeat). */
  renewal(): [run: string, value: string, expiryMs: string];
  /** What RENEW_PART found: another run's value when it holds the claim; logs once when it does. */
  renewed(other: string | null): void;
  release(): Promise<void>;
}

/**
 * One BOUY_HOSTNAME, one live supervisor. Worker registrations are named after
 * the hostname, so two supervisors sharing one (a copied .env, a reused container id, a
 * StatefulSet pod name on two clusters) overwrote each other's registrations, and one returned
 * the other's running job — run twice — while its own dead worker's job was stranded.
 *
 * The supervisor claims `<prefix>:host:<hostname>` (expiring after a stale period, renewed every
 * heartbeat). Held by another run at start: if that run is on this machine and its pid is gone
 * (this container's previous run, SIGKILLed), the claim is taken at once; otherwise the holder is
 * watched for a stale period and a heartbeat: it renews — a live duplicate, refused with exit 69
 * naming its pid and machine — or it expires and is taken.
 */
export async function claimHostname(
  redis: Redis,
  options: { prefix: string; hostname: string; staleAfterMs: number; heartbeatMs: number },
  log: Logger,
): Promise<HostnameClaim> {
  const key = registryKeys(options.prefix).host(options.hostname);
  const self: Holder = { run: randomUUID(), pid: process.pid, machine: machineId(), beat: 0 };
  const value = () => JSON.stringify(self);
  const take = async (mode: 'NX' | 'force') => (mode === 'NX'
    ? (await redis.set(key, value(), 'PX', options.staleAfterMs, 'NX')) === 'OK'
    : (await redis.set(key, value(), 'PX', options.staleAfterMs)) === 'OK');

  let first = true;
  const watchUntil = Date.now() + options.staleAfterMs + options.heartbeatMs;
  for (;;) {
    if (await take('NX')) break;
    const raw = await redis.get(key);
    const holder = parse(raw);
    if (raw !== null && holder === undefined) {
      await take('force'); // unreadable: nobody's
      break;
    }
    if (holder === undefined) continue; // expired between SET and GET
    // This machine's previous run (SIGKILLed, OOM): its pid is gone, or is ours (a container's pid 1).
    if (holder.machine === self.machine && (holder.pid === process.pid || !isAlive(holder.pid))) {
      log.info({ previous_pid: holder.pid }, `BOUY_HOSTNAME=${options.hostname} was held by an earlier supervisor on this machine that is gone; taking it over`);
      await take('force');
      break;
    }
    if (first) {
      first = false;
      log.warn({ holder_pid: holder.pid, holder_machine: holder.machine }, `BOUY_HOSTNAME=${options.hostname} is held by another supervisor (pid ${holder.pid} on ${holder.machine}); waiting up to ${Math.ceil((watchUntil - Date.now()) / 1000)} s to see whether it is alive`);
    }
    const seen = holder.beat;
    while (Date.now() < watchUntil) {
      await sleep(Math.min(250, options.heartbeatMs / 2));
      const now = parse(await redis.get(key));
      if (now === undefined || now.run !== holder.run) break; // expired or changed hands: try again
      if (now.beat !== seen) {
        throw new BouyError('BOUY_ERR_HOSTNAME_TAKEN', `another supervisor runs as BOUY_HOSTNAME=${options.hostname}: pid ${holder.pid} on ${holder.machine} (it renewed its claim while this one waited)`, {
          hint: 'give every supervisor its own BOUY_HOSTNAME (default: the container\'s hostname); two with one name overwrite each other\'s worker registrations and run jobs twice',
        });
      }
    }
    if (Date.now() >= watchUntil) {
      await take('force'); // silent for a stale period and a heartbeat: gone
      break;
    }
  }

  let warned = false;
  return {
    key,
    renewal() {
      self.beat += 1;
      return [self.run, value(), String(options.staleAfterMs)];
    },
    renewed(other) {
      const holder = parse(other);
      if (holder && !warned) {
        warned = true;
        log.error({ holder_pid: holder.pid, holder_machine: holder.machine }, `another supervisor took BOUY_HOSTNAME=${options.hostname} (pid ${holder.pid} on ${holder.machine}) while this one could not renew its claim; give each its own BOUY_HOSTNAME`);
      }
      if (!holder) warned = false;
    },
    async release() {
      await redis.eval(RELEASE, 1, key, self.run);
    },
  };
}
