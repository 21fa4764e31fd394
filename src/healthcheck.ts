#!/usr/bin/env node
/**
 * The image's HEALTHCHECK: a slim image has no curl, so Node asks the health server itself.
 * Exit 0 healthy (or degraded: restarting a worker is the supervisor's job, not a reason for
 * the orchestrator to kill the whole container), 1 otherwise, as Docker expects.
 */
import { loadConfig } from './config/config.js';
import { applyPassedSettings } from './config/passed-settings.js';

const TIMEOUT_MS = 4000;

function probeHost(bind: string): string {
  // A wildcard bind answers on loopback; a specific one only on itself.
  if (bind === '0.0.0.0' || bind === '::' || bind === '') return '127.0.0.1';
  return bind.includes(':') ? `[${bind}]` : bind;
}

async function check(): Promise<number> {
  applyPassedSettings(process.env); // the container's environment as the entrypoint saw it
  const config = loadConfig();
  // No health server means nothing to ask: the container is as healthy as its process.
  if (!config.healthServer) return 0;
  const url = `http://${probeHost(config.healthHost)}:${config.healthPort}/health`;
  // A ref'd timer of our own (AbortSignal.timeout's is unref'd): should the socket not hold the
  // process open, it must not exit 0 — "healthy" — with the question unanswered.
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error(`no answer from ${url} in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  const response = await fetch(url, { signal: controller.signal });
  const body = (await response.json()) as { status?: string; workers_ready?: number; worker_count?: number };
  process.stdout.write(`${response.status} ${body.status} ${body.workers_ready}/${body.worker_count} ready\n`);
  return response.ok ? 0 : 1;
}

process.exitCode = 1; // whatever ends this process early, it is not a healthy answer
check().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stdout.write(`health check failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
