import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyPassedSettings } from '../src/config/passed-settings.js';
import { ROOT } from './helpers/processes.js';

// Issue 19, finding 2: an image's ENV is never removed or replaced by a variable nobody set.
// test/e2e/app.test.ts runs an image with ENV QUEUE_NAME/PROCESSOR through the real Compose.

describe('applyPassedSettings: what the compose files pass, applied by the entrypoint', () => {
  it('a set value wins over the image\'s ENV; an empty one (unset in shell and .env) leaves it alone', () => {
    const env: Record<string, string | undefined> = {
      QUEUE_NAME: 'from-image', PROCESSOR: '/app/p.mjs', BOUY_SET_QUEUE_NAME: '', BOUY_SET_PROCESSOR: '/app/other.mjs', BOUY_SET_WORKER_COUNT: '',
    };
    applyPassedSettings(env);
    expect(env).toEqual({ QUEUE_NAME: 'from-image', PROCESSOR: '/app/other.mjs' });
  });

  it('BOUY_DEFAULT_* applies only when neither a BOUY_SET_* nor the image gave the variable', () => {
    const env: Record<string, string | undefined> = {
      LOG_FORMAT: 'json', BOUY_DEFAULT_LOG_FORMAT: 'pretty',
      BOUY_DEFAULT_LLM_API_KEY: 'simulated-key',
      BOUY_SET_HEARTBEAT_SECONDS: '3', BOUY_DEFAULT_HEARTBEAT_SECONDS: '1',
    };
    applyPassedSettings(env);
    expect(env).toEqual({ LOG_FORMAT: 'json', LLM_API_KEY: 'simulated-key', HEARTBEAT_SECONDS: '3' });
  });
});

describe('the compose files pass what is set and nothing else', () => {
  // bouy's compose files and the application's dev overlay that `bouy init` writes.
  const files = ['compose/base.yml', 'compose/dev.yml', 'compose/dev-source.yml', 'compose/prod.yml', 'compose/test.yml', 'compose/stack.yml', 'templates/compose/dev.yml'];
  it.each(files)('%s: no bare NAME and no NAME=${NAME:-default} (v1 removes or replaces the image\'s ENV)', (file) => {
    const services = (parse(readFileSync(path.join(ROOT, file), 'utf8')) as { services: Record<string, { environment?: string[] }> }).services;
    for (const [role, service] of Object.entries(services)) {
      for (const entry of service.environment ?? []) {
        const passed = /^BOUY_SET_([A-Z0-9_]+)=\$\{([A-Z0-9_]+):-\}$/.exec(entry);
        if (passed) {
          expect(passed[2], `${file} ${role}: ${entry}`).toBe(passed[1]);
          continue;
        }
        // A literal: a default that gives way (BOUY_DEFAULT_*), or the stack's own Redis as a default only.
        expect(entry, `${file} ${role}`).toMatch(/^(BOUY_DEFAULT_[A-Z0-9_]+|REDIS_URL_DEFAULT)=[^$]*$/);
      }
    }
  });
});
