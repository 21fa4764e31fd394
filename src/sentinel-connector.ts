import { SentinelConnector } from 'ioredis';

/**
 * ioredis's Sentinel connector, ending each socket once.
 *
 * At a failover every command in flight on the old master comes back READONLY or NOREPLICAS,
 * and for each one ioredis reconnects (reconnectOnFailover in redis.ts): it calls the
 * connector's disconnect() once per error reply, because its status stays `ready` until the
 * socket's close event. Each call adds a `close` listener to the same socket, starts another
 * destroy timer, and disconnects the failover detector's sentinel clients again (ioredis #1792,
 * open). In one Sentinel failover test the two supervisors printed 216 and 200 raw
 * "MaxListenersExceededWarning: Possible EventEmitter memory leak detected" lines to stderr,
 * among their JSON logs, at the moment an operator reads them. One end of a socket is enough:
 * its close event comes once, and the first call's timer destroys a socket that never closes.
 *
 * ioredis does not hand a custom connector its client, so such a client no longer emits the
 * informational `failoverSubscribed` and `sentinelReconnecting` events; bouy listens to neither.
 */
export class SentinelConnectorEndingOnce extends SentinelConnector {
  private ending: unknown;

  // ioredis constructs a custom Connector with the client's options, typed `unknown`.
  constructor(options: unknown) {
    super(options as ConstructorParameters<typeof SentinelConnector>[0]);
  }

  override disconnect(): void {
    if (this.stream !== undefined && this.stream === this.ending) return;
    this.ending = this.stream;
    super.disconnect();
  }
}
