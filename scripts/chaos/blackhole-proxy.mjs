// A TCP proxy that can black-hole the connections through it (issue 23): used by the chaos run's
// half-open fault and by the tests (test/helpers/blackhole-proxy.ts, with its types).
import net from 'node:net';

/**
 * A TCP proxy on loopback in front of `targetPort` (a real redis-server) that can black-hole
 * the connections through it: the fault of issue 23 items 2 and 3, which neither a stopped
 * Redis (connection refused) nor a killed one (RST) reproduces.
 */
export async function startBlackholeProxy(targetPort) {
  const pairs = new Set();
  let mode = 'forward';
  const kill = (pair) => {
    pair.dead = true;
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    // Read and drop whatever still comes, so neither side ever sees a full window or a close
    // (resume: unpipe left them paused, and a paused socket never reads its peer's FIN either).
    pair.client.removeAllListeners('data').on('data', () => {}).resume();
    pair.upstream.removeAllListeners('data').on('data', () => {}).resume();
  };
  const sockets = new Set(); // every socket, for close(): a dead pair's may outlive its pair
  const server = net.createServer((client) => {
    client.on('error', () => {});
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (mode === 'hang') {
      client.on('data', () => {});
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('error', () => {});
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
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
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
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
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
