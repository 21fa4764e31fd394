import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../redis.js';
import { parseCommand, sendCommand } from '../fleet/commands.js';
import { readSnapshots } from '../fleet/snapshot.js';
import { within } from '../timeout.js';
import { FLEET_CSS, FLEET_HTML, FLEET_JS } from './fleet-assets.js';
import { readOverview } from './fleet-overview.js';
import { COMMAND_BURST, COMMAND_EVERY_MS, CommandRate } from './command-rate.js';

/**
 * The header a command must carry. A cross-site form cannot set it, and a cross-site fetch
 * that sets it needs a CORS preflight this server never answers: with the JSON content type,
 * that is what makes the POST safe against CSRF while the browser holds Basic credentials.
 */
export const COMMAND_HEADER = 'x-bouy-fleet';

/** Only our own files, nothing inline, no framing: the page's data (job names…) is untrusted. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * /fleet beside bull-board: the page (HTML, its one script and stylesheet, all served from
 * here: no CDN), the data as JSON (`/fleet?format=json` or `/fleet/api`) and the actions
 * (`POST /fleet/api/commands`), which go to the chosen container's supervisor through Redis.
 * Behind whatever authentication the dashboard app has (registered before this).
 */
export function registerFleetPage(app: FastifyInstance, redis: RedisClient, prefix: string): void {
  const overview = async (reply: import('fastify').FastifyReply) => {
    const data = await within(readOverview(redis, prefix), 1500, null);
    reply.header('cache-control', 'no-store');
    if (!data) return reply.code(503).header('retry-after', '2').send({ error: 'unavailable', message: 'Redis did not answer' });
    return reply.send(data);
  };
  const asset = (type: string, body: string) => async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);

  app.get<{ Querystring: { format?: string } }>('/fleet', async (request, reply) => {
    const format = request.query.format ?? 'html';
    if (format === 'json') return overview(reply);
    if (format !== 'html') return reply.code(400).send({ error: 'bad request', message: `format ${JSON.stringify(format)} is not valid: json or html` });
    return reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').send(FLEET_HTML);
  });
  app.get('/fleet/api', async (_request, reply) => overview(reply));
  app.get('/fleet/fleet.js', asset('text/javascript; charset=utf-8', FLEET_JS));
  app.get('/fleet/fleet.css', asset('text/css; charset=utf-8', FLEET_CSS));

  const rate = new CommandRate();
  app.post('/fleet/api/commands', async (request, reply) => {
    if (request.headers[COMMAND_HEADER] !== '1') {
      return reply.code(403).send({ error: 'forbidden', message: `commands need the header ${COMMAND_HEADER}: 1 (sent by the fleet page)` });
    }
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return reply.code(415).send({ error: 'unsupported media type', message: 'send the command as application/json' });
    }
    const parsed = parseCommand(request.body);
    if ('error' in parsed) return reply.code(400).send({ error: 'bad request', message: parsed.error });
    const { command } = parsed;
    const snapshots = await within(readSnapshots(redis, prefix), 1500, null);
    if (!snapshots) return reply.code(503).header('retry-after', '2').send({ error: 'unavailable', message: 'Redis did not answer' });
    const target = snapshots.find((s) => s.host === command.host);
    if (!target) return reply.code(404).send({ error: 'not found', message: `no live container ${command.host}; containers are ${snapshots.map((s) => s.host).join(', ') || 'none'}` });
    if (command.action === 'recycle' && command.worker !== 'all' && !target.workers.some((w) => w.index === command.worker)) {
      return reply.code(404).send({ error: 'not found', message: `${command.host} has no worker ${command.worker}; it has ${target.workers.map((w) => w.index).join(', ')}` });
    }
    const wait = rate.take(command.host);
    if (wait > 0) {
      return reply.code(429).header('retry-after', String(wait)).send({
        error: 'too many requests',
        message: `${command.host} takes at most ${COMMAND_BURST} commands at once, then one every ${COMMAND_EVERY_MS / 1000} s: retry in ${wait} s`,
      });
    }
    await sendCommand(redis, prefix, command);
    return reply.code(202).send({ queued: command });
  });
}
