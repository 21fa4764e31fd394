import { existsSync } from 'node:fs';
import path from 'node:path';
import { BouyError } from '../errors.js';
import type { Context } from './context.js';
import { dockerBin } from './docker.js';
import { capture } from './process.js';

/** The image the project's services run: BOUY_IMAGE (an application's .env names its own), else bouy's. */
export function projectImage(ctx: Context): string {
  return ctx.env.BOUY_IMAGE?.trim() || 'bouy:latest';
}

/**
 * Before Compose may build: a project builds only from its own docker/Dockerfile (the compose
 * files' build context is the project's folder). Without one, `--build` or a missing image is
 * an error naming the image, never a build of something else under its tag.
 */
export async function assertImageSource(ctx: Context, build: boolean): Promise<void> {
  const dockerfile = path.join(ctx.root, 'docker', 'Dockerfile');
  if (existsSync(dockerfile)) return;
  const image = projectImage(ctx);
  const hint = `build ${image} where its Dockerfile is, pull it (docker pull ${image}), or name another image with BOUY_IMAGE in ${path.join(ctx.root, '.env')}`;
  if (build) {
    throw new BouyError('BOUY_ERR_NO_IMAGE', `cannot build ${image}: ${ctx.root} has no docker/Dockerfile`, { hint });
  }
  const found = await capture(dockerBin(ctx.env), ['image', 'inspect', '--format', '{{.Id}}', image], ctx.env);
  if (found.code !== 0) {
    throw new BouyError('BOUY_ERR_NO_IMAGE', `image ${image} is not on this Docker engine, and ${ctx.root} has no docker/Dockerfile to build it from`, { hint });
  }
}
