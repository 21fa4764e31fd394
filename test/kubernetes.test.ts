import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import {
  KUBERNETES, apiServerErrors, containersOf, effectiveEnv, expand, find, kustomize, quantity, readManifest, references, resolvePort,
  schemaErrors, selectorOverlaps, typeErrors, valueAt, workloads, type Container, type K8sObject,
} from './helpers/kubernetes.js';
import { runEntrypoint, stopProcess, type Running } from './helpers/processes.js';
import { parsePrometheus, sampleValue } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet, type TestFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

// deploy/kubernetes, checked without a cluster (none runs here): the kustomize build validated
// against the Kubernetes and KEDA schemas, then what the schemas cannot know, checked against
// the real thing — the probes' routes and the autoscaler's metric asked of a real supervisor on
// a real Redis, the drain timeout against the grace period.

/** Per role: the variable that sets the port its probes ask, and bouy's default for it. */
const PORT_VARIABLE: Record<string, { name: string; fallback: number }> = {
  worker: { name: 'HEALTH_PORT', fallback: 8080 },
  scheduler: { name: 'HEALTH_PORT', fallback: 8080 },
  api: { name: 'API_PORT', fallback: 8000 },
  dashboard: { name: 'DASHBOARD_PORT', fallback: 9181 },
};
/** bouy's own default (config.ts), for a manifest that leaves SHUTDOWN_TIMEOUT_SECONDS unset. */
const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 25;
/** After the drain timeout the stragglers get 3 s before they are killed, then the supervisor exits. */
const GRACE_MARGIN_SECONDS = 10;
const TEST_SECRETS = {
  REDIS_PASSWORD: '', API_TOKEN: 'test-api-token-0123456789', DASHBOARD_USER: 'ops',
  DASHBOARD_PASSWORD: 'test-dashboard-password', ADMIN_TOKEN: 'test-admin-token-0123456789',
  BACKLOG_TOKEN: 'test-backlog-token-0123456789',
};

const base = kustomize(KUBERNETES);
const hpaVariant = kustomize(path.join(KUBERNETES, 'hpa-cpu'));
const poolsVariant = kustomize(path.join(KUBERNETES, 'pools'));
const secretExample = readManifest('secret.example.yaml');
const worker = find(base, 'Deployment', 'bouy-worker');
const workerContainer = containersOf(worker)[0]!;

function roleOf(container: Container): string {
  const role = container.args?.[0];
  if (!role || !PORT_VARIABLE[role]) throw new Error(`container ${container.name} runs no bouy role (args ${JSON.stringify(container.args)})`);
  return role;
}

/** The bouy containers (the image's roles), each with the env the kubelet would give it. */
function bouyContainers(objects: K8sObject[]) {
  return workloads(objects).flatMap((w) => containersOf(w).filter((c) => c.args?.[0] && PORT_VARIABLE[c.args[0]]).map((c) => ({ workload: w, container: c })));
}

describe('deploy/kubernetes as built by kustomize (no cluster: validated offline)', () => {
  it('builds, and every object (KEDA variant, CPU-HPA variant, the example Secret) passes its Kubernetes or KEDA schema', () => {
    expect(schemaErrors([...base, ...hpaVariant, ...secretExample])).toEqual([]);
    expect(base.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'StatefulSet', 'Service', 'ConfigMap', 'PodDisruptionBudget', 'ScaledObject']));
    // The check itself fails on a broken object.
    const broken = structuredClone(worker);
    broken.spec.template.spec.containers[0].livenessProbe.httpGet.port = { name: 'health' };
    expect(schemaErrors([broken])).toHaveLength(1);
    expect(schemaErrors([{ ...worker, kind: 'Deploymnet' }])[0]).toContain('no schema');
  });

  it('passes what an API server checks beyond the schemas: no unknown field (typed through tsc), DNS-1123 names, port names, selectors, probe ports, autoscaler bounds', () => {
    const all = [...base, ...hpaVariant, ...secretExample];
    expect(typeErrors(all)).toEqual([]);
    expect(apiServerErrors(all)).toEqual([]);
  });

  // Each check fed the object it is there to catch (kubernetes-models' validate() accepted every
  // one of these when this was written).
  const scaledObject = () => structuredClone(find(base, 'ScaledObject', 'bouy-worker'));
  const brokenWorker = (breakIt: (w: any) => void) => {
    const broken = structuredClone(worker);
    breakIt(broken);
    return broken;
  };
  it('catches an unknown field (`readinessprobe`, a misplaced `limit`) through the typed check', () => {
    const misspelt = brokenWorker((w) => { w.spec.template.spec.containers[0].readinessprobe = w.spec.template.spec.containers[0].readinessProbe; });
    expect(typeErrors([misspelt]).join('\n')).toMatch(/Deployment\/bouy-worker: .*'readinessprobe'/);
    const nested = brokenWorker((w) => { w.spec.template.spec.containers[0].resources.limit = { memory: '1Gi' }; });
    expect(typeErrors([nested]).join('\n')).toMatch(/Deployment\/bouy-worker: .*'limit' does not exist in type '\w*ResourceRequirements'/);
    const scaled = scaledObject();
    scaled.spec.minReplicas = 0; // the HPA's spelling, not KEDA's
    expect(typeErrors([scaled]).join('\n')).toMatch(/ScaledObject\/bouy-worker: .*'minReplicas'/);
  });
  it('catches a selector that does not match the template\'s labels', () => {
    const broken = brokenWorker((w) => { w.spec.template.metadata.labels['app.kubernetes.io/component'] = 'wroker'; });
    expect(apiServerErrors([broken])).toEqual([expect.stringContaining('Deployment/bouy-worker: spec.selector does not match the template\'s labels (app.kubernetes.io/component=worker)')]);
  });
  it('catches a name that is not DNS-1123 (metadata, container, volume, Service)', () => {
    expect(apiServerErrors([brokenWorker((w) => { w.metadata.name = 'Bad_Name'; })])).toEqual([expect.stringContaining('Deployment/Bad_Name: metadata.name must be a DNS-1123 subdomain')]);
    expect(apiServerErrors([brokenWorker((w) => { w.spec.template.spec.containers[0].name = 'Worker'; })])[0]).toContain('name must be a DNS-1123 label');
    expect(apiServerErrors([brokenWorker((w) => { w.spec.template.spec.volumes[0].name = 'tmp.dir'; })])[0]).toContain('volume name tmp.dir');
    const service = structuredClone(find(base, 'Service', 'bouy-worker'));
    service.metadata.name = '1-worker';
    expect(apiServerErrors([service])[0]).toContain('Service/1-worker: metadata.name must be a DNS-1035');
  });
  it('catches a container port name over 15 characters (and one without a letter)', () => {
    const long = brokenWorker((w) => {
      const container = w.spec.template.spec.containers[0];
      container.ports[0].name = 'health-endpoint';
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) container[probe].httpGet.port = 'health-endpoint';
      expect(container.ports[0].name).toHaveLength(15);
    });
    expect(apiServerErrors([long])).toEqual([]);
    const tooLong = brokenWorker((w) => {
      const container = w.spec.template.spec.containers[0];
      container.ports[0].name = 'health-endpoints';
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) container[probe].httpGet.port = 'health-endpoints';
    });
    expect(apiServerErrors([tooLong])).toEqual([expect.stringContaining('port name health-endpoints must be at most 15')]);
    expect(apiServerErrors([brokenWorker((w) => { w.spec.template.spec.containers[0].ports[0].name = '8080'; })]).join('\n')).toContain('port name 8080');
  });
  it('catches a probe naming a port its container does not declare', () => {
    const broken = brokenWorker((w) => { w.spec.template.spec.containers[0].livenessProbe.httpGet.port = 'helth'; });
    expect(apiServerErrors([broken])).toEqual([expect.stringContaining('livenessProbe names port helth, which the container does not declare')]);
  });
  it('catches a KEDA ScaledObject (or an HPA) whose minimum is above its maximum', () => {
    const scaled = scaledObject();
    scaled.spec.minReplicaCount = 5;
    scaled.spec.maxReplicaCount = 2;
    expect(apiServerErrors([scaled])).toEqual(['ScaledObject/bouy-worker: minReplicaCount 5 is above maxReplicaCount 2']);
    const hpa = structuredClone(find(hpaVariant, 'HorizontalPodAutoscaler', 'bouy-worker'));
    hpa.spec.minReplicas = 30;
    expect(apiServerErrors([hpa])[0]).toContain('minReplicas 30 must be from 1 to maxReplicas 20');
  });

  it('has exactly one autoscaler per variant for the worker Deployment, which sets no replicas of its own', () => {
    const scaled = base.filter((o) => o.kind === 'ScaledObject');
    expect(scaled.map((o) => o.spec.scaleTargetRef.name)).toEqual([worker.metadata.name]);
    expect(base.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    expect(hpaVariant.filter((o) => o.kind === 'ScaledObject')).toEqual([]);
    const hpa = hpaVariant.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    expect(hpa.map((o) => [o.spec.scaleTargetRef.kind, o.spec.scaleTargetRef.name])).toEqual([['Deployment', worker.metadata.name]]);
    // A replicas field would reset the autoscaler's count on every `kubectl apply`.
    expect(worker.spec.replicas).toBeUndefined();
    // KEDA scales the workers to zero: the metric comes from a Deployment that does not scale
    // with them (the scheduler), and only a backlog above the activation value wakes them.
    expect(scaled[0]!.spec.minReplicaCount).toBe(0);
    expect(scaled[0]!.spec.triggers[0].metadata.activationTargetValue).toBe('0');
    expect(scaled[0]!.spec.maxReplicaCount).toBeGreaterThan(0);
    // Without KEDA the rest is the same.
    const names = (objects: K8sObject[]) => objects.filter((o) => !['ScaledObject', 'TriggerAuthentication', 'HorizontalPodAutoscaler'].includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names(hpaVariant)).toEqual(names(base));
  });

  it('gives the worker pod a termination grace period above SHUTDOWN_TIMEOUT_SECONDS plus the kill delay and a margin', () => {
    const env = effectiveEnv(workerContainer, base, TEST_SECRETS);
    const shutdown = Number(env.SHUTDOWN_TIMEOUT_SECONDS ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS);
    expect(Number.isFinite(shutdown)).toBe(true);
    const grace = worker.spec.template.spec.terminationGracePeriodSeconds as number | undefined;
    // Kubernetes' default is 30 s: the field must be there, not left to the default.
    expect(grace).toBeDefined();
    expect(grace!).toBeGreaterThanOrEqual(shutdown + GRACE_MARGIN_SECONDS);
  });

  it('runs every pod as non-root with a read-only root filesystem, no privilege escalation, and requests and limits', () => {
    for (const workload of workloads(base)) {
      const pod = workload.spec.template.spec;
      const where = `${workload.kind}/${workload.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.runAsUser, where).toBeGreaterThan(0);
      const volumes = new Set([...(pod.volumes ?? []).map((v: { name: string }) => v.name), ...(workload.spec.volumeClaimTemplates ?? []).map((v: K8sObject) => v.metadata.name)]);
      for (const container of containersOf(workload)) {
        const at = `${where} container ${container.name}`;
        expect(container.securityContext?.readOnlyRootFilesystem, at).toBe(true);
        expect(container.securityContext?.allowPrivilegeEscalation, at).toBe(false);
        expect(container.securityContext?.capabilities?.drop, at).toContain('ALL');
        expect(container.resources?.requests?.cpu, at).toBeDefined();
        expect(container.resources?.requests?.memory, at).toBeDefined();
        expect(container.resources?.limits?.memory, at).toBeDefined();
        for (const mount of container.volumeMounts ?? []) expect(volumes.has(mount.name), `${at} mounts ${mount.name}`).toBe(true);
      }
    }
    // The image's user (docker/Dockerfile: USER node, uid 1000) for bouy's own pods.
    for (const { workload } of bouyContainers(base)) expect(workload.spec.template.spec.securityContext.runAsUser).toBe(1000);
    // bouy's pods write only to /tmp (an emptyDir) on the read-only root.
    for (const { container } of bouyContainers(base)) expect(container.volumeMounts?.map((m) => m.mountPath)).toEqual(['/tmp']);
  });

  it('sets the worker memory limit above WORKER_COUNT workers at MAX_MEMORY_MB (recycled before the pod is OOM-killed)', () => {
    const env = effectiveEnv(workerContainer, base, TEST_SECRETS);
    const workers = Number(env.WORKER_COUNT ?? 1);
    const perWorker = Number(env.MAX_MEMORY_MB ?? 0) * 1024 ** 2;
    expect(perWorker).toBeGreaterThan(0);
    const limit = quantity(workerContainer.resources!.limits!.memory!);
    // The supervisor's own share on top (Node with bouy: about 100 MiB).
    expect(limit).toBeGreaterThanOrEqual(workers * perWorker + 128 * 1024 ** 2);
  });

  it('resolves every Secret, ConfigMap and $(VAR) reference; ships no secret value; leaves BOUY_HOSTNAME to the pod name', () => {
    const example = secretExample[0]!;
    const keys = example.stringData ?? {};
    // Nothing secret committed: the example's values are all empty, to be filled.
    expect(Object.values(keys).every((v) => v === '')).toBe(true);
    const configMaps = new Set(base.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    let secretRefs = 0;
    for (const workload of workloads(base)) {
      for (const container of containersOf(workload)) {
        const at = `${workload.metadata.name}/${container.name}`;
        const defined = new Set<string>();
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef) {
            expect(configMaps.has(source.configMapRef.name), `${at} envFrom ${source.configMapRef.name}`).toBe(true);
            for (const key of Object.keys(find(base, 'ConfigMap', source.configMapRef.name).data ?? {})) defined.add(key);
          }
          expect(source.secretRef, `${at}: secrets by key, not whole`).toBeUndefined();
        }
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref) {
            secretRefs += 1;
            expect(ref.name, at).toBe(example.metadata.name);
            expect(Object.keys(keys), `${at} reads ${ref.key}`).toContain(ref.key);
          }
          for (const name of references(variable.value ?? '')) expect([...defined], `${at}: ${variable.name} uses $(${name}) before it is defined`).toContain(name);
          defined.add(variable.name);
        }
        expect(defined.has('BOUY_HOSTNAME'), at).toBe(false);
      }
    }
    expect(secretRefs).toBeGreaterThan(0);
    // The Redis URL every bouy role is given is put together from defined parts.
    for (const { container } of bouyContainers(base)) {
      const url = effectiveEnv(container, base, { ...TEST_SECRETS, REDIS_PASSWORD: 'p4ss' }).REDIS_URL!;
      expect(references(url), container.name).toEqual([]);
      expect(new URL(url).password, container.name).toBe('p4ss');
    }
    // The check catches a reference to a variable that does not exist.
    expect(references(expand('redis://$(NOPE)@x', { A: 'a' }))).toEqual(['NOPE']);
  });

  it('has each Service select pods and target a port their container declares; the health port is pinned', () => {
    for (const service of base.filter((o) => o.kind === 'Service')) {
      const selected = workloads(base).filter((w) => Object.entries(service.spec.selector as Record<string, string>).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
      expect(selected.map((w) => w.metadata.name), `Service ${service.metadata.name} selects`).toHaveLength(1);
      for (const port of service.spec.ports) {
        expect(resolvePort(containersOf(selected[0]!)[0]!, port.targetPort ?? port.port), `Service ${service.metadata.name} port ${port.name}`).toBeDefined();
      }
    }
    // Each role listens where its probes and Service look: the env sets the declared port, and
    // for the health server the range allows no other (a busy port would move it elsewhere).
    for (const { container } of bouyContainers(base)) {
      const role = roleOf(container);
      const env = effectiveEnv(container, base, TEST_SECRETS);
      const { name, fallback } = PORT_VARIABLE[role]!;
      const port = Number(env[name] ?? fallback);
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(resolvePort(container, probe.httpGet.port), `${container.name} probe port`).toBe(port);
      }
      if (name === 'HEALTH_PORT') expect(env.HEALTH_PORT_RANGE, container.name).toBe(`${port}-${port}`);
    }
  });

  it('points the ScaledObject at the scheduler Service\'s /backlog (a pod that stays up at zero workers), with a bearer token from the Secret', () => {
    const scaled = find(base, 'ScaledObject', 'bouy-worker');
    const trigger = scaled.spec.triggers[0];
    expect(trigger.type).toBe('metrics-api');
    const url = new URL(trigger.metadata.url);
    const [serviceName, namespace, ...rest] = url.hostname.split('.');
    expect(rest.join('.')).toMatch(/^svc(\.cluster\.local)?$/);
    const service = find(base, 'Service', serviceName!);
    expect(namespace).toBe(service.metadata.namespace);
    const scheduler = find(base, 'Deployment', 'bouy-scheduler');
    expect(service.spec.selector).toEqual(scheduler.spec.selector.matchLabels);
    // Not scaled by any autoscaler, and more than one replica: the metric is there at zero workers.
    expect(base.filter((o) => ['ScaledObject', 'HorizontalPodAutoscaler'].includes(o.kind)).map((o) => o.spec.scaleTargetRef.name)).not.toContain(scheduler.metadata.name);
    expect(scheduler.spec.replicas).toBeGreaterThanOrEqual(1);
    const schedulerContainer = containersOf(scheduler)[0]!;
    const port = service.spec.ports.find((p: { port: number }) => p.port === Number(url.port));
    expect(port, `scheduler Service port ${url.port}`).toBeDefined();
    expect(resolvePort(schedulerContainer, port.targetPort)).toBe(resolvePort(schedulerContainer, schedulerContainer.livenessProbe.httpGet.port));
    expect(url.pathname).toBe('/backlog');
    // A delayed job counts once due before the next poll: the window is the polling interval.
    expect(Number(url.searchParams.get('window'))).toBe(scaled.spec.pollingInterval);
    // And the gauges in /metrics (KEDA's Prometheus trigger) count over the same window.
    expect(Number(effectiveEnv(containersOf(scheduler)[0]!, base, TEST_SECRETS).BACKLOG_WINDOW_SECONDS)).toBe(scaled.spec.pollingInterval);
    expect(Number(trigger.metadata.targetValue)).toBeGreaterThan(0);
    // Slots per pod: what one worker pod runs at once.
    const env = effectiveEnv(workerContainer, base, TEST_SECRETS);
    expect(Number(trigger.metadata.targetValue)).toBe(Number(env.WORKER_COUNT ?? 1) * Number(env.WORKER_CONCURRENCY ?? 1));
    // Bearer: the TriggerAuthentication's token is the Secret key the scheduler checks.
    expect(trigger.metadata.authMode).toBe('bearer');
    const auth = find(base, 'TriggerAuthentication', trigger.authenticationRef.name);
    const ref = auth.spec.secretTargetRef.find((r: { parameter: string }) => r.parameter === 'token');
    const schedulerToken = schedulerContainer.env!.find((v) => v.name === 'BACKLOG_TOKEN')!.valueFrom.secretKeyRef;
    expect([ref.name, ref.key]).toEqual([schedulerToken.name, schedulerToken.key]);
    expect(Object.keys(secretExample[0]!.stringData ?? {})).toContain(ref.key);
  });
});

describe('deploy/kubernetes/pools: a worker Deployment and ScaledObject per queue group (issue 20, item 6)', () => {
  const workerDeployments = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' && /^bouy-worker(-|$)/.test(o.metadata.name));
  const pool = () => find(poolsVariant, 'Deployment', 'bouy-worker-thumbnails');

  it('builds, passes the schemas, the typed check and the API server\'s rules, and keeps everything the KEDA variant has', () => {
    expect(schemaErrors(poolsVariant)).toEqual([]);
    expect(typeErrors(poolsVariant)).toEqual([]);
    expect(apiServerErrors(poolsVariant)).toEqual([]);
    const ids = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(ids(poolsVariant)).toEqual(expect.arrayContaining(ids(base)));
    expect(ids(poolsVariant).filter((id) => !ids(base).includes(id))).toEqual(
      ['Deployment', 'PodDisruptionBudget', 'ScaledObject', 'Service'].map((kind) => `${kind}/bouy-worker-thumbnails`));
    // The pool's pod runs the same image, in the same namespace, with the same settings source.
    const baseWorker = find(poolsVariant, 'Deployment', 'bouy-worker');
    expect(pool().spec.template.spec.containers[0].image).toBe(baseWorker.spec.template.spec.containers[0].image);
    expect(pool().metadata.namespace).toBe(baseWorker.metadata.namespace);
    expect(pool().metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'bouy' });
  });

  it('no pod is selected by two workloads, Services or PodDisruptionBudgets (each pool its own)', () => {
    expect(workerDeployments(poolsVariant).map((d) => d.metadata.name).sort()).toEqual(['bouy-worker', 'bouy-worker-thumbnails']);
    expect(selectorOverlaps(poolsVariant)).toEqual([]);
    expect(selectorOverlaps([...base, ...hpaVariant.filter((o) => o.kind === 'HorizontalPodAutoscaler')])).toEqual([]);
  });

  it('gives each worker Deployment exactly one ScaledObject, on its own queues, sized to its own pods', () => {
    const scaled = poolsVariant.filter((o) => o.kind === 'ScaledObject');
    expect(scaled.map((o) => o.spec.scaleTargetRef.name).sort()).toEqual(workerDeployments(poolsVariant).map((d) => d.metadata.name).sort());
    const so = find(poolsVariant, 'ScaledObject', 'bouy-worker-thumbnails');
    const env = effectiveEnv(containersOf(pool())[0]!, poolsVariant, TEST_SECRETS);
    expect(env.QUEUE_NAME).toBe('thumbnails');
    const trigger = so.spec.triggers[0];
    // The metric is the pool's own queue, which the scheduler (serving every pool) lists too.
    const queue = /^queues\.([^.]+)\.slots$/.exec(trigger.metadata.valueLocation)?.[1];
    expect(env.QUEUE_NAME!.split(',')).toContain(queue);
    const scheduler = effectiveEnv(containersOf(find(poolsVariant, 'Deployment', 'bouy-scheduler'))[0]!, poolsVariant, TEST_SECRETS);
    expect(scheduler.QUEUE_NAME!.split(',')).toEqual(expect.arrayContaining([queue, ...effectiveEnv(workerContainer, poolsVariant, TEST_SECRETS).QUEUE_NAME!.split(',')]));
    expect(Number(trigger.metadata.targetValue)).toBe(Number(env.WORKER_COUNT ?? 1) * Number(env.WORKER_CONCURRENCY ?? 1));
    expect(so.spec.minReplicaCount).toBe(0);
    expect(find(poolsVariant, 'TriggerAuthentication', trigger.authenticationRef.name)).toBeDefined();
    // The base worker keeps its queues and its own metric.
    expect(find(poolsVariant, 'ScaledObject', 'bouy-worker').spec.triggers[0].metadata.valueLocation).toBe('slots');
    // Memory: the pool's WORKER_COUNT workers at MAX_MEMORY_MB fit its limit, as the base worker's do.
    expect(quantity(containersOf(pool())[0]!.resources!.limits!.memory!)).toBeGreaterThan(Number(env.WORKER_COUNT) * Number(env.MAX_MEMORY_MB) * 1024 ** 2);
  });

  it('the overlap check catches a pool whose selector also takes the base worker\'s pods', () => {
    const overlapping = structuredClone(pool());
    overlapping.spec.selector.matchLabels = { 'app.kubernetes.io/name': 'bouy', 'app.kubernetes.io/component': 'worker' };
    overlapping.spec.template.metadata.labels['app.kubernetes.io/component'] = 'worker';
    const objects = [...poolsVariant.filter((o) => o.metadata.name !== 'bouy-worker-thumbnails' || o.kind !== 'Deployment'), overlapping];
    expect(selectorOverlaps(objects)).toEqual(expect.arrayContaining([
      'Deployment/bouy-worker selects bouy-worker, bouy-worker-thumbnails', 'Service/bouy-worker selects bouy-worker, bouy-worker-thumbnails',
    ]));
  });
});

describe('the manifests against real bouy processes on a real Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.close(); });

  /** The env a bouy container of the manifest gets, with this test's Redis and a free port in place of the cluster's. */
  function localEnv(container: Container, port: number): Record<string, string> {
    const env = effectiveEnv(container, base, { ...TEST_SECRETS, REDIS_ADDRESS: '' });
    // REDIS_URL as the manifest composes it, from this test's Redis (no password).
    const redisUrl = expand(container.env!.find((v) => v.name === 'REDIS_URL')!.value!, { ...env, REDIS_PASSWORD: '', REDIS_ADDRESS: `127.0.0.1:${redis.port}` });
    const { name } = PORT_VARIABLE[roleOf(container)]!;
    const local: Record<string, string> = {
      ...env, REDIS_URL: redisUrl, [name]: String(port), HEALTH_HOST: '127.0.0.1', LOG_FORMAT: 'json',
    };
    if (name === 'HEALTH_PORT') local.HEALTH_PORT_RANGE = `${port}-${port}`;
    for (const host of ['API_HOST', 'DASHBOARD_HOST']) if (host in local) local[host] = '127.0.0.1';
    return local;
  }

  /** Resolves once `run` answers on `port`; fails at once, with its stderr, if it exits first. */
  async function untilListening(run: Running, port: number): Promise<void> {
    const exited = run.exited.then(({ code }) => { throw new Error(`exited ${code} before listening: ${run.stderr.join('\n')}`); });
    await Promise.race([exited, waitFor(async () => (await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined))?.ok, `port ${port} to answer`)]);
  }

  /** GET each probe of `container` on `port` the way the kubelet does: no credentials. */
  async function probeStatuses(container: Container, port: number): Promise<Record<string, number>> {
    const statuses: Record<string, number> = {};
    for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
      const probe = container[kind];
      expect(probe?.httpGet?.path, `${container.name} ${kind}`).toBeDefined();
      statuses[`${kind} ${probe.httpGet.path}`] = (await fetch(`http://127.0.0.1:${port}${probe.httpGet.path}`)).status;
    }
    return statuses;
  }

  it('answers every probe of the worker pod with 200 from a real supervisor started with the manifest\'s settings', async () => {
    const port = await freePort();
    // The fleet's own queue name (startFleet picks one), everything else as the manifest says.
    const { QUEUE_NAME: _manifestQueue, ...env } = localEnv(workerContainer, port);
    await withFleet(redis, { ...env, SHUTDOWN_TIMEOUT_SECONDS: '2' }, async (fleet) => {
      await allReady(fleet);
      const statuses = await probeStatuses(workerContainer, fleet.healthPort);
      expect(Object.values(statuses), JSON.stringify(statuses)).toEqual([200, 200, 200]);
      // A path the server does not answer would be caught.
      expect((await fetch(`http://127.0.0.1:${fleet.healthPort}/livez-typo`)).status).toBe(404);
    });
  });

  for (const role of ['scheduler', 'api', 'dashboard']) {
    it(`answers every probe of the ${role} pod with 200, without credentials, from the real ${role}`, async () => {
      const { container } = bouyContainers(base).find(({ container: c }) => c.args?.[0] === role)!;
      const port = await freePort();
      const run: Running = runEntrypoint([role], { ...localEnv(container, port), QUEUE_NAME: `k8s-${role}` });
      try {
        await untilListening(run, port);
        const statuses = await probeStatuses(container, port);
        expect(Object.values(statuses), JSON.stringify(statuses)).toEqual([200, 200, 200]);
      } finally {
        await stopProcess(run);
      }
    });
  }

  it('serves the backlog a worker pod reports: waiting + prioritized + active + delayed jobs due within the window, in /backlog and /metrics; 503 without Redis', async () => {
    const trigger = find(base, 'ScaledObject', 'bouy-worker').spec.triggers[0];
    const port = await freePort();
    const env = localEnv(workerContainer, port);
    const id = `k8s-${port}`;
    const low = `${id}-low`;
    // One worker taking one job at a time, so the rest stays queued; two queues, the total sums both.
    const fleet: TestFleet = await startFleet(redis, { ...env, QUEUE_NAME: `${id},${low}`, WORKER_COUNT: '1', WORKER_CONCURRENCY: '1', SHUTDOWN_TIMEOUT_SECONDS: '1' });
    const lowQueue = new Queue(low, { connection: redis.client });
    lowQueue.on('error', () => {}); // Redis is stopped on purpose below
    try {
      await allReady(fleet);
      await fleet.queue.add('long', { ms: 120_000 });
      await waitFor(async () => (await fleet.started()).length === 1, 'the long job to start');
      for (let i = 0; i < 3; i += 1) await fleet.queue.add('plain', {});
      for (let i = 0; i < 2; i += 1) await fleet.queue.add('urgent', {}, { priority: 5 });
      for (let i = 0; i < 2; i += 1) await fleet.queue.add('later', {}, { delay: 600_000 });
      await lowQueue.add('later', {}, { delay: 600_000 });

      // The delayed jobs are 10 min away: not due within the window, so not counted.
      const expected = { waiting: 3, prioritized: 2, delayed_due: 0, delayed_later: 2, active: 1, paused: false, ready: 5, backlog: 6, slots: 6 };
      const url = `http://127.0.0.1:${fleet.healthPort}${new URL(trigger.metadata.url).pathname}`;
      // Every job is in Redis once its add resolved, and the long one is active (it has
      // started): /backlog reads Redis when asked, so one request must see them all.
      const response = await fetch(url);
      expect(response.status).toBe(200);
      const body = await response.json() as { queues: Record<string, typeof expected>; backlog: number; slots: number };
      expect(body.queues[id]).toMatchObject(expected);
      expect(body.queues[low]).toMatchObject({ waiting: 0, prioritized: 0, delayed_due: 0, delayed_later: 1, active: 0, backlog: 0, slots: 0 });
      // What KEDA reads at valueLocation: the total over the queues.
      expect(valueAt(body, trigger.metadata.valueLocation)).toBe(6);
      // The list a naive scaler reads has 3 of the 6.
      expect(await redis.client.llen(`bull:${id}:wait`)).toBe(3);

      const { samples } = parsePrometheus(await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text());
      expect(sampleValue(samples, 'bouy_queue_backlog', { queue: id })).toBe(6);
      expect(sampleValue(samples, 'bouy_queue_backlog', { queue: low })).toBe(0);
      expect(sampleValue(samples, 'bouy_queue_desired_slots', { queue: id })).toBe(6);

      // Without Redis an error, never a zero that would scale the fleet in.
      await redis.stop();
      try {
        const down = await fetch(url);
        expect(down.status).toBe(503);
        expect(await down.json()).toMatchObject({ error: 'redis unavailable' });
      } finally {
        await redis.start();
      }
    } finally {
      await fleet.close();
      await lowQueue.close();
    }
  });

  it('scales from zero: with no worker running, the scheduler\'s /backlog (as KEDA asks it, with its token) wakes the workers, and a worker that starts takes the waiting jobs', async () => {
    const scaled = find(base, 'ScaledObject', 'bouy-worker');
    const trigger = scaled.spec.triggers[0];
    const scheduler = find(base, 'Deployment', 'bouy-scheduler');
    const schedulerContainer = containersOf(scheduler)[0]!;
    const port = await freePort();
    const queueName = `k8s-zero-${port}`;
    const run = runEntrypoint(['scheduler'], { ...localEnv(schedulerContainer, port), QUEUE_NAME: queueName });
    const queue = new Queue(queueName, { connection: redis.client });
    try {
      await untilListening(run, port);
      const url = new URL(trigger.metadata.url);
      const ask = async (token: string | null) => fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
      const metric = async () => {
        const response = await ask(TEST_SECRETS.BACKLOG_TOKEN);
        expect(response.status).toBe(200);
        return Number(valueAt(await response.json(), trigger.metadata.valueLocation));
      };
      // Idle: at or under the activation value, so KEDA keeps 0 pods.
      expect(await metric()).toBeLessThanOrEqual(Number(trigger.metadata.activationTargetValue));
      // Without KEDA's bearer token: 401.
      expect((await ask(null)).status).toBe(401);
      for (let i = 0; i < 5; i += 1) await queue.add('work', { i });
      const slots = await metric();
      expect(slots).toBe(5);
      expect(slots).toBeGreaterThan(Number(trigger.metadata.activationTargetValue));
      // KEDA's HPA: ceil(5 / 2) = 3 pods wanted; here one is started, and it takes the jobs.
      expect(Math.ceil(slots / Number(trigger.metadata.targetValue))).toBe(3);
      const { QUEUE_NAME: _q, ...env } = localEnv(workerContainer, await freePort());
      await withFleet(redis, { ...env, QUEUE_NAME: queueName, SHUTDOWN_TIMEOUT_SECONDS: '2' }, async (fleet) => {
        await completedJobs(fleet, 5);
        // Drained: back under the activation value, so KEDA returns to 0 after its cooldown.
        expect(await metric()).toBe(0);
      });
    } finally {
      await stopProcess(run);
      await queue.close();
    }
  });

  it('a pool scales on its own queue: the scheduler of the pools variant reports thumbnails apart, and the pool\'s worker takes only thumbnails', async () => {
    const poolScaler = find(poolsVariant, 'ScaledObject', 'bouy-worker-thumbnails').spec.triggers[0];
    const baseScaler = find(poolsVariant, 'ScaledObject', 'bouy-worker').spec.triggers[0];
    const schedulerContainer = containersOf(find(poolsVariant, 'Deployment', 'bouy-scheduler'))[0]!;
    const poolContainer = containersOf(find(poolsVariant, 'Deployment', 'bouy-worker-thumbnails'))[0]!;
    const port = await freePort();
    const schedulerEnv = localEnv(schedulerContainer, port);
    expect(schedulerEnv.QUEUE_NAME).toBe('llm,thumbnails');
    const run = runEntrypoint(['scheduler'], schedulerEnv);
    const thumbnails = new Queue('thumbnails', { connection: redis.client });
    const llm = new Queue('llm', { connection: redis.client });
    try {
      await untilListening(run, port);
      const metric = async (trigger: any) => {
        const url = new URL(trigger.metadata.url);
        const response = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, { headers: { authorization: `Bearer ${TEST_SECRETS.BACKLOG_TOKEN}` } });
        expect(response.status).toBe(200);
        return Number(valueAt(await response.json(), trigger.metadata.valueLocation));
      };
      for (let i = 0; i < 3; i += 1) await thumbnails.add('thumb', { i });
      for (let i = 0; i < 5; i += 1) await llm.add('work', { i });
      expect(await metric(poolScaler)).toBe(3);
      // The base worker's metric is every queue the scheduler serves.
      expect(await metric(baseScaler)).toBe(8);
      const env = localEnv(poolContainer, await freePort());
      expect(env.QUEUE_NAME).toBe('thumbnails');
      await withFleet(redis, { ...env, SHUTDOWN_TIMEOUT_SECONDS: '2' }, async (fleet) => {
        await completedJobs(fleet, 3);
        expect(await metric(poolScaler)).toBe(0);
        // The llm jobs are not the pool's: still waiting for the base worker.
        expect(await llm.getWaitingCount()).toBe(5);
      });
    } finally {
      await stopProcess(run);
      await thumbnails.obliterate({ force: true });
      await llm.obliterate({ force: true });
      await thumbnails.close();
      await llm.close();
    }
  });
});
