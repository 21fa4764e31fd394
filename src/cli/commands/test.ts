import { BouyError } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { attach } from '../process.js';

export const test: BouyCommand = {
  command: 'test',
  describe: 'run the test suite (the fast one; --e2e the container tests; --all both)',
  builder: (y) => y
    .options({
      e2e: { type: 'boolean', default: false, describe: 'the container tests (needs a Docker engine)' },
      all: { type: 'boolean', default: false, describe: 'both suites' },
    })
    .check((args) => {
      if (args.e2e && args.all) throw new BouyError('BOUY_ERR_USAGE', '--e2e and --all exclude each other');
      return true;
    })
    .example('$0 test', 'npm test: needs redis-server on PATH')
    .example('$0 test --e2e', 'npm run test:e2e: builds the image, starts real containers'),
  run: async (ctx, args) => {
    const scripts = args.all ? ['test', 'test:e2e'] : args.e2e ? ['test:e2e'] : ['test'];
    for (const script of scripts) {
      ctx.out.info(`npm run ${script}`);
      const code = await attach('npm', ['run', script], ctx.env, { stdout: ctx.args.json ? 'stderr' : 'inherit', cwd: ctx.root });
      if (code !== 0) return code;
    }
    return 0;
  },
};
