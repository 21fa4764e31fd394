import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { ROOT, started } from './helpers/processes.js';
import { parsePrometheus } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, type TestFleet, withFleet as withTestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

// The shipped Prometheus configuration and alert rules, checked by Debian's promtool and a
// real Prometheus server scraping a real supervisor (`.ci/run` installs the `prometheus` package).
const MONITORING = path.join(ROOT, 'monitoring');

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: MONITORING, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the shipped monitoring configuration', () => {
  it('is a valid Prometheus configuration with valid alert rules', () => {
    const config = promtool('check', 'config', 'prometheus.yml');
    expect(config.output).toContain('SUCCESS: 8 rules found');
    expect(config.status).toBe(0);
  });

  it('fires each alert on the series it is meant for and not on the others (promtool test rules)', () => {
    const tests = promtool('test', 'rules', 'alerts.test.yml');
    expect(tests.output).toContain('SUCCESS');
    expect(tests.status).toBe(0);
  });
});

describe('a real supervisor under a real Prometheus', () => {
  let redis: RedisServer;
  const MAX_MEMORY_MB = 512;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.close(); });

  /** A two-worker supervisor for the duration of `body` (the leak guard checks each test). */
  async function withFleet(body: (fleet: TestFleet) => Promise<void>): Promise<void> {
    await withTestFleet(redis, { WORKER_COUNT: '2', MAX_MEMORY_MB: String(MAX_MEMORY_MB) }, async (fleet) => {
      await allReady(fleet);
      await body(fleet);
    });
  }

  it('serves /metrics that promtool accepts without a lint warning, with each worker\'s memory and the limit', () => withFleet(async (fleet) => {
    const text = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);

    const { samples } = parsePrometheus(text);
    const memory = samples.filter((s) => s.name === 'bouy_worker_resident_memory_bytes');
    expect(memory.map((s) => s.labels.worker).sort()).toEqual([`worker-${fleet.hostname}-1`, `worker-${fleet.hostname}-2`]);
    // A Node worker with BullMQ loaded holds tens of MiB; a page-size slip would show here.
    for (const sample of memory) expect(sample.value).toBeGreaterThan(20 * 1048576);
    expect(samples.find((s) => s.name === 'bouy_worker_memory_limit_bytes')?.value).toBe(MAX_MEMORY_MB * 1048576);
  }));

  it('is scraped by Prometheus with the shipped rules loaded and evaluating', () => withFleet(async (fleet) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-prometheus-'));
    const port = await freePort();
    // The shipped file finds workers by DNS (compose's service name); here the target is the
    // test's supervisor, with the same rules file.
    writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ['${path.join(MONITORING, 'alerts.yml')}']`,
      'scrape_configs:',
      '  - job_name: bouy-workers',
      `    static_configs: [{ targets: ['127.0.0.1:${fleet.healthPort}'] }]`,
    ].join('\n'));
    const server: ChildProcess = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    started.add(server);
    const log: string[] = [];
    server.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    const api = async (query: string) => (await (await fetch(`http://127.0.0.1:${port}/api/v1/${query}`)).json()) as { data: any };
    try {
      const target = await waitFor(async () => {
        const { data } = await api('targets');
        return data.activeTargets.find((t: { health: string }) => t.health === 'up');
      }, 'Prometheus to scrape the supervisor', 30_000, 250).catch((error: Error) => {
        throw new Error(`${error.message}\nprometheus said:\n${log.join('').slice(-2000)}`);
      });
      expect(target.labels.job).toBe('bouy-workers');

      const workers = await waitFor(async () => {
        const { data } = await api(`query?query=${encodeURIComponent('sum(bouy_workers{state="ready"})')}`);
        return data.result[0]?.value[1] === '2' ? data.result : undefined;
      }, 'two ready workers in Prometheus', 30_000, 250);
      expect(workers).toHaveLength(1);

      const rules = await waitFor(async () => {
        const { data } = await api('rules');
        const list = data.groups.flatMap((g: { rules: unknown[] }) => g.rules) as Array<{ name: string; health: string; lastEvaluation: string }>;
        return list.length === 8 && list.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001')) ? list : undefined;
      }, 'the rules to evaluate without error', 30_000, 250);
      expect(rules.map((r) => r.name).sort()).toContain('BouyWorkerCrashLoop');
      // A healthy fleet with its one supervisor leading: nothing fires.
      const { data } = await api('alerts');
      expect(data.alerts.filter((a: { state: string }) => a.state === 'firing')).toEqual([]);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  }));
});
