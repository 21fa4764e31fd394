/**
 * Settings the compose files pass, applied so that only what someone set reaches the service.
 *
 * Why not `- QUEUE_NAME` or `QUEUE_NAME=${QUEUE_NAME:-llm}` in compose/base.yml: Compose v1 sends
 * a bare name that neither the shell nor `.env` sets to the engine as a bare name, which REMOVES
 * an `ENV QUEUE_NAME=…` baked into the image, and a `:-default` replaces it. Compose cannot say
 * "pass this only when set" (v1 has no `${VAR:+…}`), so the compose files pass each setting
 * under a name of its own, empty when unset — `BOUY_SET_QUEUE_NAME=${QUEUE_NAME:-}` — and this
 * turns a non-empty one into the real variable before anything reads the environment. An empty
 * value means "not set" (bouy's settings read an empty value as unset anyway), so the image's
 * ENV, else bouy's own default, holds. `BOUY_DEFAULT_<NAME>` (the overlays' mode defaults, e.g.
 * pretty logs in dev) applies only when neither was given nor baked into the image.
 */
export const SET_PREFIX = 'BOUY_SET_';
export const DEFAULT_PREFIX = 'BOUY_DEFAULT_';

type MutableEnv = Record<string, string | undefined>;

/** Applies BOUY_SET_* and then BOUY_DEFAULT_* to `env` in place and removes them from it. */
export function applyPassedSettings(env: MutableEnv): void {
  for (const prefix of [SET_PREFIX, DEFAULT_PREFIX]) {
    for (const key of Object.keys(env)) {
      if (!key.startsWith(prefix) || key.length === prefix.length) continue;
      const name = key.slice(prefix.length);
      const value = env[key];
      delete env[key];
      if (value === undefined || value === '') continue;
      const present = env[name] !== undefined && env[name] !== '';
      if (prefix === SET_PREFIX || !present) env[name] = value;
    }
  }
}
