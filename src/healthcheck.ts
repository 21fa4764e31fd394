#!/usr/bin/env node
/**
 * The image's HEALTHCHECK: a slim image has no curl, so Node asks the health server itself.
 * Exit 0 healthy (or degraded: restarting a worker is the supervisor's job, not a reason for
 * the orchestrator to kill the whole container), 1 otherwise, as Docker expects.
 */
import { loadConfig } from './config/config.js';

const TIMEOUT_MS = 4000;

function probeHost(bind: string): string {
  // A wildcard bind answers on loopback; a specific one only on itself.
  if (bind === '0.0.0.0' || bind === '::' || bind === '') return '127.0.0.1';
  return bind.includes(':') ? `[${bind}]` : bind;
}

async function check(): Promise<number> {
  const config = loadConfig();
  // No health server means nothing to ask: the container is as healthy as its process.
  if (!config.healthServer) return 0;
  const url = `http://${probeHost(config.healthHost)}:${config.healthPort}/health`;
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = (await response.json()) as { status?: string; workers_ready?: number; worker_count?: number };
  process.stdout.write(`${response.status} ${body.status} ${body.workers_ready}/${body.worker_count} ready\n`);
  return response.ok ? 0 : 1;
}

check().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stdout.write(`health check failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
