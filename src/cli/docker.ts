import { BouyError } from '../errors.js';
import { capture, type Env } from './process.js';

const NO_ENGINE_HINT = 'start the engine (`sudo systemctl start docker`, Docker Desktop, or `dockerd &`) and try again';

/** The docker client: BOUY_DOCKER, else `docker` on PATH. */
export function dockerBin(env: Env): string {
  return env.BOUY_DOCKER ?? 'docker';
}

/** Fails with exit 69 and what to do when there is no Docker client or no engine behind it. */
export async function assertEngine(env: Env): Promise<string> {
  const result = await capture(dockerBin(env), ['version', '--format', '{{.Server.Version}}'], env);
  if (result.code === 127) {
    throw new BouyError('BOUY_ERR_NO_DOCKER', `no Docker client: \`${dockerBin(env)}\` is not on PATH`, {
      hint: 'install Docker (https://docs.docker.com/engine/install/) and start its engine',
    });
  }
  const version = result.stdout.trim();
  if (result.code !== 0 || !version) {
    const why = result.stderr.trim().split('\n').find(Boolean) ?? `exit ${result.code}`;
    throw new BouyError('BOUY_ERR_NO_DOCKER', `no Docker engine answers: ${why}`, { hint: NO_ENGINE_HINT });
  }
  return version;
}

/** A container of the stack as `docker inspect` describes it. */
export interface ContainerInfo {
  id: string;
  name: string;
  service: string;
  /** running, exited, restarting, … */
  state: string;
  /** The exit status of its last run (0 while it runs and never stopped). */
  exitCode: number;
  /** How often the engine restarted it (its restart policy), since it was created. */
  restarts: number;
  /** healthy, unhealthy, starting, or '' without a HEALTHCHECK. */
  health: string;
  /** Container port ("8080/tcp") → host port. */
  ports: Record<string, number>;
  /** The compose files the container was created from (label set by Compose v1 and v2). */
  configFiles: string[];
}

/** What `docker inspect` says of a container, the parts read here. */
export interface Inspected {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string> | null };
  RestartCount?: number;
  State: { Status: string; ExitCode?: number; Health?: { Status: string } };
  NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null };
}

export function describeContainer(c: Inspected): ContainerInfo {
  const labels = c.Config.Labels ?? {};
  const ports: Record<string, number> = {};
  for (const [port, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    const host = bindings?.find((b) => b.HostPort)?.HostPort;
    if (host) ports[port] = Number(host);
  }
  return {
    id: c.Id.slice(0, 12),
    name: c.Name.replace(/^\//, ''),
    service: labels['com.docker.compose.service'] ?? '',
    state: c.State.Status,
    exitCode: c.State.ExitCode ?? 0,
    restarts: c.RestartCount ?? 0,
    health: c.State.Health?.Status ?? '',
    ports,
    configFiles: (labels['com.docker.compose.project.config_files'] ?? '').split(',').filter(Boolean),
  };
}

/** Every container of a compose project (running or not), ordered by name. */
export async function projectContainers(env: Env, project: string, options: { all?: boolean } = {}): Promise<ContainerInfo[]> {
  const ps = await capture(dockerBin(env), [
    'ps', ...(options.all ? ['-a'] : []), '-q', '--filter', `label=com.docker.compose.project=${project}`,
  ], env);
  if (ps.code !== 0) throw new BouyError('BOUY_ERR_NO_DOCKER', `docker ps failed: ${ps.stderr.trim()}`, { hint: NO_ENGINE_HINT });
  const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = await capture(dockerBin(env), ['inspect', ...ids], env);
  // A container can vanish between ps and inspect; inspect then fails for it alone.
  const list = inspected.stdout.trim() ? (JSON.parse(inspected.stdout) as Inspected[]) : [];
  return list.map(describeContainer).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}
