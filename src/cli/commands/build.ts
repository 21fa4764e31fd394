import type { BouyCommand } from '../command.js';
import { assertImageSource } from '../project-image.js';

export const build: BouyCommand = {
  command: 'build [services..]',
  describe: 'build the image (the dev target by default, the runtime with --prod or --test)',
  builder: (y) => y
    .positional('services', { type: 'string', array: true, describe: 'services whose image to build (default: all)' })
    .example('$0 build', 'the development image')
    .example('$0 build --prod', 'the production image, bouy:latest'),
  run: async (ctx, args) => {
    const mode = await ctx.mode();
    await assertImageSource(ctx, true);
    ctx.out.info(`building (${mode} mode)`);
    const started = Date.now();
    const code = await ctx.runCompose(['build', ...((args.services as string[] | undefined) ?? [])], mode);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    ctx.out.result({ project: ctx.project, mode, exit_code: code, seconds }, () => (code === 0 ? `built in ${seconds} s` : ''));
    return code;
  },
};
