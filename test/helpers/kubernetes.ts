import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './processes.js';

export const KUBERNETES = path.join(ROOT, 'deploy', 'kubernetes');

/** A Kubernetes object as kustomize prints it: only what the checks read is typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface EnvVar { name: string; value?: string; valueFrom?: any }
export interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: any;
  startupProbe?: any;
  livenessProbe?: any;
  readinessProbe?: any;
  volumeMounts?: { name: string; mountPath: string }[];
}

/**
 * `kubectl kustomize <dir>` (offline: no cluster involved), parsed. kubectl is not an npm
 * package: it must be on PATH (or KUBECTL); a missing one fails here, saying so.
 */
export function kustomize(dir: string): K8sObject[] {
  const kubectl = process.env.KUBECTL ?? 'kubectl';
  const result = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${kubectl} (install kubectl, or set KUBECTL): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${kubectl} kustomize ${dir} failed:\n${result.stderr}`);
  return parseYaml(result.stdout);
}

export function parseYaml(text: string): K8sObject[] {
  return YAML.parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`bad YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  }).filter((o) => o !== null);
}

export function readManifest(file: string): K8sObject[] {
  return parseYaml(readFileSync(path.join(KUBERNETES, file), 'utf8'));
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the build (have: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`);
  return found;
}

/** Deployments and StatefulSets: the objects that run pods. */
export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

export function containersOf(workload: K8sObject): Container[] {
  return workload.spec.template.spec.containers as Container[];
}

/** The container's port a probe or Service names (by name or number). */
export function resolvePort(container: Container, port: string | number): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * What the process in `container` sees as its environment, the way the kubelet builds it:
 * envFrom first, then env in order, `$(VAR)` expanded from what is defined so far (`$$` is a
 * literal `$`, an undefined reference stays as written). Secret values come from `secrets`.
 */
export function effectiveEnv(container: Container, objects: K8sObject[], secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, find(objects, 'ConfigMap', source.configMapRef.name).data);
    if (source.secretRef) Object.assign(env, secrets);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = expand(variable.value, env);
    else if (variable.valueFrom?.secretKeyRef) {
      const value = secrets[variable.valueFrom.secretKeyRef.key];
      if (value !== undefined) env[variable.name] = value;
    } else if (variable.valueFrom?.configMapKeyRef) {
      const data = find(objects, 'ConfigMap', variable.valueFrom.configMapKeyRef.name).data ?? {};
      const value = data[variable.valueFrom.configMapKeyRef.key];
      if (value !== undefined) env[variable.name] = value;
    }
  }
  return env;
}

export function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? whole;
  });
}

/** `$(VAR)` references in a value (what the kubelet would expand). */
export function references(value: string): string[] {
  return [...value.replaceAll('$$', '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!);
}

/** A Kubernetes quantity in bytes (memory) or cores (cpu): 512Mi, 1Gi, 500m, 2. */
export function quantity(text: string): number {
  const match = /^([0-9.]+)(m|k|M|G|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (!match) throw new Error(`not a quantity: ${text}`);
  const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

/**
 * A GJSON path as KEDA's metrics-api scaler reads `valueLocation` (the dotted subset:
 * `backlog`, `queues.llm.backlog`).
 */
export function valueAt(json: unknown, location: string): unknown {
  let here: unknown = json;
  for (const key of location.split('.')) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  return here;
}
