import net from 'node:net';

export interface BlackholeProxy {
  port: number;
  url: string;
  /**
   * The path dies silently, as a NAT or load balancer that dropped its state: established
   * connections stop forwarding in both directions (no RST, no FIN: their sockets stay open
   * and what is written to them goes nowhere). `newConnections: 'hang'` black-holes new ones
   * too (the whole network gone); 'forward' lets them through (only the old ones are dead).
   */
  blackhole(options?: { newConnections?: 'hang' | 'forward' }): void;
  /** New connections are forwarded again; the black-holed ones stay dead until their peer gives up. */
  restore(): void;
  /** Connections forwarding right now. */
  readonly forwarding: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of `targetPort` (a real redis-server) that can black-hole
 * the connections through it: the fault of issue 23 items 2 and 3, which neither a stopped
 * Redis (connection refused) nor a killed one (RST) reproduces.
 */
export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; dead: boolean }>();
  const holes = new Set<net.Socket>();
  let mode: 'forward' | 'hang' = 'forward';
  const kill = (pair: { client: net.Socket; upstream: net.Socket; dead: boolean }) => {
    pair.dead = true;
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    // Read and drop whatever still comes, so neither side ever sees a full window or a close.
    pair.client.removeAllListeners('data').on('data', () => {});
    pair.upstream.removeAllListeners('data').on('data', () => {});
  };
  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (mode === 'hang') {
      holes.add(client);
      client.on('data', () => {});
      client.on('close', () => holes.delete(client));
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('error', () => {});
    const pair = { client, upstream, dead: false };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      if (pair.dead) return; // a dead path carries no close either
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    blackhole(options = {}) {
      mode = options.newConnections ?? 'hang';
      for (const pair of pairs) if (!pair.dead) kill(pair);
    },
    restore() {
      mode = 'forward';
    },
    get forwarding() {
      return [...pairs].filter((p) => !p.dead).length;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      for (const hole of holes) hole.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
