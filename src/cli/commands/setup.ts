import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../../config/config.js';
import { BouyError, EXIT } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { envFile } from '../dotenv.js';
import { fillSecrets, renderSecrets, writePrivate } from '../secrets.js';

/** What `setup` asks, in order, with the defaults the image uses. */
export const SETTINGS: ReadonlyArray<{ name: string; fallback: string; question: string }> = [
  { name: 'WORKER_COUNT', fallback: '1', question: 'worker processes per container (1-20, auto, or MIN-MAX to autoscale)' },
  { name: 'QUEUE_NAME', fallback: 'llm', question: 'queue(s) to consume, comma list in priority order' },
  { name: 'WORKER_CONCURRENCY', fallback: '1', question: 'jobs at once per worker' },
  { name: 'SHUTDOWN_TIMEOUT_SECONDS', fallback: '25', question: 'drain time on stop, seconds (keep under 35, the stop grace period)' },
  { name: 'LOG_LEVEL', fallback: 'info', question: 'log level (fatal, error, warn, info, debug, trace)' },
];

/** The config module's verdict on the answers: the problem lines, empty when all is well. */
function problemsOf(values: Record<string, string>): string[] {
  try {
    loadConfig(values, false);
    return [];
  } catch (error) {
    return error instanceof BouyError ? error.message.split('\n').slice(1).map((l) => l.replace(/^\s*- /, '')) : [String(error)];
  }
}

export function renderDotenv(values: Record<string, string>, secrets: Record<string, string>): string {
  const lines = ['# bouy settings, written by `./bouy setup`. A variable set in the shell wins over this file.'];
  for (const s of SETTINGS) lines.push(`# ${s.question}`, `${s.name}=${values[s.name] ?? s.fallback}`);
  lines.push(...renderSecrets(secrets));
  return `${lines.join('\n')}\n`;
}

export const setup: BouyCommand = {
  command: 'setup',
  describe: 'write a .env with the stack\'s settings (asks; --defaults does not) and generated credentials',
  builder: (y) => y
    .options({
      defaults: { type: 'boolean', default: false, describe: 'write the defaults (or values from the environment) without asking' },
      force: { type: 'boolean', default: false, describe: 'overwrite an existing .env' },
    })
    .example('$0 setup', 'answer a few questions')
    .example('WORKER_COUNT=4 $0 setup --defaults --force', 'non-interactive, four workers per container'),
  run: async (ctx, args) => {
    const file = envFile(ctx.root, ctx.env);
    if (existsSync(file) && !args.force) {
      throw new BouyError('BOUY_ERR_USAGE', `${file} exists; not overwriting it`, { hint: 'pass --force to replace it' });
    }
    const values: Record<string, string> = {};
    for (const s of SETTINGS) values[s.name] = ctx.env[s.name] ?? s.fallback;
    if (!args.defaults) {
      if (!process.stdin.isTTY) {
        throw new BouyError('BOUY_ERR_USAGE', 'setup asks questions but stdin is not a terminal', { hint: 'use ./bouy setup --defaults' });
      }
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        for (const s of SETTINGS) {
          for (;;) {
            const answer = (await rl.question(`${s.question} [${values[s.name]}]: `)).trim();
            const candidate = { ...values, [s.name]: answer || values[s.name]! };
            const problem = problemsOf(candidate).find((p) => p.startsWith(`${s.name}=`));
            if (!problem) {
              Object.assign(values, candidate);
              break;
            }
            ctx.out.error(problem);
          }
        }
      } finally {
        rl.close();
      }
    }
    // Credentials already set (in .env or the shell) are kept; the missing ones generated.
    const secrets = fillSecrets(ctx.env);
    const problems = problemsOf({ ...values, ...secrets.values });
    if (problems.length > 0) {
      throw new BouyError('BOUY_ERR_CONFIG', `invalid settings:\n  - ${problems.join('\n  - ')}`, { hint: 'fix the variables in the environment and run setup again' });
    }
    writePrivate(file, renderDotenv(values, secrets.values));
    ctx.out.result({ file, values, secrets: { generated: secrets.generated, kept: secrets.kept } }, () => [
      `wrote ${file} (mode 0600)`,
      ...SETTINGS.map((s) => `  ${s.name}=${values[s.name]}`),
      ...secrets.generated.map((name) => `  ${name}: generated`),
      ...secrets.kept.map((name) => `  ${name}: kept`),
      `dashboard login: user ${secrets.values.DASHBOARD_USER}, password in ${file} as DASHBOARD_PASSWORD`,
    ].join('\n'));
    return EXIT.ok;
  },
};
