import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { parseAllDocuments } from 'yaml';
import { settings } from '../../src/config.ts';
import {
  BLOCKED_EGRESS_SAMPLES,
  dockerfileUid,
  egressAllows,
  manifestProblems,
  parseQuantity,
  type ManifestContext,
} from './invariants.ts';
import { renderKustomization, type KubeObject } from './kustomize-lite.ts';

const root = resolve(import.meta.dirname, '../..');
const kubernetesDir = join(root, 'deploy/kubernetes');
const baseDir = join(kubernetesDir, 'base');
const overlaysDir = join(kubernetesDir, 'overlays');

const imageUid = dockerfileUid(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const metricsSource = readFileSync(join(root, 'src/http/metrics.ts'), 'utf8');
const context: ManifestContext = {
  imageUid: imageUid ?? -1,
  exportedMetrics: new Set([...metricsSource.matchAll(/name: '(diffguard_\w+)'/g)].map((m) => m[1] ?? '')),
};

// Schema validation: every kind the manifests may use, with its kubernetes-models class.
const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function validateAgainstSchema(object: KubeObject): void {
  const Model = models[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object as never).validate();
}

/** Every folder under deploy/kubernetes holding a kustomization.yaml, and every YAML file (iterative walk). */
function scanKubernetesDir(): { kustomizations: string[]; yamlFiles: string[] } {
  const kustomizations: string[] = [];
  const yamlFiles: string[] = [];
  const pending = [kubernetesDir];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (/\.ya?ml$/.test(entry.name)) yamlFiles.push(path);
      if (entry.name === 'kustomization.yaml') kustomizations.push(dir);
    }
  }
  return { kustomizations, yamlFiles };
}

function findObject<T>(objects: KubeObject[], kind: string): T {
  const object = objects.find((o) => o.kind === kind);
  assert.ok(object, `${kind} not rendered`);
  return structuredClone(object) as unknown as T;
}

function containerOf(deployment: IDeployment) {
  const container = deployment.spec?.template.spec?.containers[0];
  assert.ok(container);
  return container;
}

const base = renderKustomization(baseDir);
const { kustomizations, yamlFiles } = scanKubernetesDir();

describe('deploy/kubernetes layout', () => {
  it('lists every YAML file in some kustomization, so none is silently left out of `kubectl apply -k`', () => {
    const referenced = new Set(kustomizations.flatMap((dir) => renderKustomization(dir).files));
    const orphans = yamlFiles.filter((file) => !referenced.has(file)).map((file) => relative(root, file));
    assert.deepEqual(orphans, []);
  });

  it('installs the base from deploy/kubernetes itself', () => {
    assert.deepEqual(renderKustomization(kubernetesDir).objects, base.objects);
  });

  it('renders the five kinds of the base', () => {
    assert.deepEqual(base.objects.map((o) => o.kind).sort(), ['Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);
  });

  it('has only strict, duplicate-free YAML', () => {
    for (const file of yamlFiles) {
      for (const document of parseAllDocuments(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true })) {
        assert.deepEqual(document.errors, [], relative(root, file));
      }
    }
  });

  it('renders like `kubectl kustomize` (when kubectl is installed)', (t) => {
    const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (probe.error !== undefined) {
      t.skip('kubectl is not installed');
      return;
    }
    const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
    for (const dir of kustomizations) {
      const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const expected = parseAllDocuments(result.stdout).map((d) => d.toJS() as KubeObject);
      const ours = renderKustomization(dir).objects;
      assert.deepEqual(
        new Map(ours.map((o) => [key(o), o])),
        new Map(expected.map((o) => [key(o), o])),
        relative(root, dir),
      );
    }
  });
});

describe('Kubernetes schemas (kubernetes-models)', () => {
  for (const dir of kustomizations) {
    it(`accepts every object rendered from ${relative(root, dir)}`, () => {
      for (const object of renderKustomization(dir).objects) validateAgainstSchema(object);
    });
  }

  it('rejects an object that breaks the schema', () => {
    const deployment = findObject<IDeployment>(base.objects, 'Deployment');
    const port = containerOf(deployment).ports?.[0];
    assert.ok(port);
    (port as { containerPort: unknown }).containerPort = 'eighty';
    assert.throws(() => validateAgainstSchema(deployment as unknown as KubeObject), /containerPort must be integer/);
  });
});

describe('manifest invariants', () => {
  it('knows the image user and the exported load metrics', () => {
    assert.equal(typeof imageUid, 'number');
    assert.ok(context.exportedMetrics.has('diffguard_queue_depth'));
    assert.ok(context.exportedMetrics.has('diffguard_admitted_requests'));
  });

  for (const dir of kustomizations) {
    it(`holds for ${relative(root, dir)}`, () => {
      assert.deepEqual(manifestProblems(renderKustomization(dir).objects, context), []);
    });
  }

  it('the optional overlay scales on the jobs waiting for a worker as well as CPU', () => {
    const overlay = renderKustomization(join(overlaysDir, 'queue-depth-autoscaling'));
    const autoscaler = findObject<IHorizontalPodAutoscaler>(overlay.objects, 'HorizontalPodAutoscaler');
    const metrics = autoscaler.spec?.metrics ?? [];
    assert.deepEqual(metrics.map((m) => m.pods?.metric.name ?? m.resource?.name), ['cpu', 'diffguard_queue_depth']);
    // Above an empty queue, below the 2 jobs the base's one worker may queue before refusing.
    const target = parseQuantity(String(metrics[1]?.pods?.target.averageValue ?? ''));
    assert.ok(target > 0 && target < 2, `target ${target}`);
  });

  it('sizes WORKERS and MEMORY_LIMIT_MIB from the resources, which the service then accepts', () => {
    const deployment = findObject<IDeployment>(base.objects, 'Deployment');
    const container = containerOf(deployment);
    const fromResource = (name: string) => container.env?.find((e) => e.name === name)?.valueFrom?.resourceFieldRef?.resource;
    assert.equal(fromResource('WORKERS'), 'requests.cpu');
    assert.equal(fromResource('MEMORY_LIMIT_MIB'), 'limits.memory');
    assert.equal(parseQuantity(container.resources?.limits?.['memory'] ?? ''), 512 * 1024 * 1024);
  });

  it('reads the drain timeout from src/config.ts: the grace period outlasts preStop + drain', () => {
    const deployment = findObject<IDeployment>(base.objects, 'Deployment');
    const grace = deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    const preStop = containerOf(deployment).lifecycle?.preStop?.sleep?.seconds ?? 0;
    assert.ok(grace > preStop + (settings.drainTimeoutMs.default + settings.shutdownDelayMs.default) / 1000);
    // A longer drain set in the env must be matched by the grace period.
    containerOf(deployment).env?.push({ name: 'DRAIN_TIMEOUT_MS', value: String(grace * 1000) });
    assert.match(manifestProblems(replace(base.objects, deployment), context).join('\n'), /terminationGracePeriodSeconds \(40\) must exceed/);
  });

  it('blocks SSRF targets and allows the public internet and DNS', () => {
    const policy = findObject<INetworkPolicy>(base.objects, 'NetworkPolicy');
    for (const address of BLOCKED_EGRESS_SAMPLES) assert.equal(egressAllows(policy, address, 443), false, address);
    assert.equal(egressAllows(policy, '93.184.215.14', 443), true);
    assert.equal(egressAllows(policy, '93.184.215.14', 8080), true);
  });
});

function replace(objects: KubeObject[], changed: object): KubeObject[] {
  const object = changed as KubeObject;
  return objects.map((o) => (o.kind === object.kind && o.metadata.name === object.metadata.name ? object : o));
}

/** Breaks one rule on a copy of the base and expects exactly that rule to be reported. */
function expectProblem<T>(kind: string, mutate: (object: T) => void, expected: RegExp): void {
  const object = findObject<T>(base.objects, kind);
  mutate(object);
  const problems = manifestProblems(replace(base.objects, object as object), context);
  assert.ok(problems.length > 0, 'the broken copy passed every check');
  assert.ok(problems.some((p) => expected.test(p)), `expected ${expected}, got:\n${problems.join('\n')}`);
}

describe('each invariant catches the edit that breaks it', () => {
  const deployment = (mutate: (container: NonNullable<ReturnType<typeof containerOf>>, d: IDeployment) => void) => (d: IDeployment) => mutate(containerOf(d), d);
  const cases: [string, string, (object: never) => void, RegExp][] = [
    ['memory limit removed', 'Deployment', deployment((c) => { delete c.resources?.limits?.['memory']; }), /memory limit must be set/],
    ['memory request below limit', 'Deployment', deployment((c) => { c.resources!.requests!['memory'] = '256Mi'; }), /memory request must equal/],
    ['CPU request removed', 'Deployment', deployment((c) => { delete c.resources?.requests?.['cpu']; }), /CPU request must be set/],
    ['CPU limit added', 'Deployment', deployment((c) => { c.resources!.limits!['cpu'] = '1'; }), /no CPU limit/],
    ['two workers in 512Mi', 'Deployment', deployment((c) => { c.resources!.requests!['cpu'] = '2'; }), /over the 512 MiB limit/],
    ['bodies too large for the limit', 'Deployment', deployment((c) => { c.env?.push({ name: 'MAX_BODY_BYTES', value: String(100 * 1024 * 1024) }); }), /would refuse to start/],
    ['a variable set twice', 'Deployment', deployment((c) => { c.env?.push({ name: 'WORKER_HEAP_MIB', value: '200' }); }), /WORKER_HEAP_MIB is set twice/],
    ['invalid env value', 'Deployment', deployment((c) => { c.env?.push({ name: 'JOB_CPU_LIMIT_MS', value: 'ten' }); }), /env: JOB_CPU_LIMIT_MS must be a whole number/],
    ['WORKERS left automatic', 'Deployment', deployment((c) => { c.env = c.env?.filter((e) => e.name !== 'WORKERS'); }), /WORKERS \(auto\) must match/],
    ['NODE_OPTIONS heap flag', 'Deployment', deployment((c) => { c.env?.push({ name: 'NODE_OPTIONS', value: '--max-old-space-size=400' }); }), /NODE_OPTIONS/],
    ['liveness on /readyz', 'Deployment', deployment((c) => { c.livenessProbe!.httpGet!.path = '/readyz'; }), /livenessProbe must GET \/healthz/],
    ['readiness removed', 'Deployment', deployment((c) => { delete c.readinessProbe; }), /readinessProbe is missing/],
    ['readiness on the wrong port', 'Deployment', deployment((c) => { c.readinessProbe!.httpGet!.port = 9999; }), /readinessProbe must use port 8888/],
    ['impatient liveness', 'Deployment', deployment((c) => { c.livenessProbe!.failureThreshold = 1; }), /tolerate at least 60 s/],
    ['default grace period', 'Deployment', deployment((_c, d) => { delete d.spec!.template.spec!.terminationGracePeriodSeconds; }), /terminationGracePeriodSeconds \(30\) must exceed/],
    ['preStop removed', 'Deployment', deployment((c) => { delete c.lifecycle; }), /preStop pause/],
    ['root user', 'Deployment', deployment((_c, d) => { d.spec!.template.spec!.securityContext!.runAsUser = 0; }), /non-zero uid/],
    ['uid differs from the image', 'Deployment', deployment((_c, d) => { d.spec!.template.spec!.securityContext!.runAsUser = 1001; }), /must match the image's USER 1000/],
    ['runAsNonRoot off', 'Deployment', deployment((c) => { c.securityContext!.runAsNonRoot = false; }), /runAsNonRoot must be true/],
    ['writable root filesystem', 'Deployment', deployment((c) => { c.securityContext!.readOnlyRootFilesystem = false; }), /readOnlyRootFilesystem/],
    ['privilege escalation', 'Deployment', deployment((c) => { delete c.securityContext!.allowPrivilegeEscalation; }), /allowPrivilegeEscalation/],
    ['capabilities kept', 'Deployment', deployment((c) => { c.securityContext!.capabilities = { drop: ['NET_RAW'] }; }), /drop ALL/],
    ['capability added', 'Deployment', deployment((c) => { c.securityContext!.capabilities!.add = ['NET_ADMIN']; }), /no capabilities may be added/],
    ['seccomp removed', 'Deployment', deployment((_c, d) => { delete d.spec!.template.spec!.securityContext!.seccompProfile; }), /seccompProfile/],
    ['/tmp not mounted', 'Deployment', deployment((c) => { c.volumeMounts = []; }), /\/tmp must be an emptyDir/],
    ['spread removed', 'Deployment', deployment((_c, d) => { delete d.spec!.template.spec!.topologySpreadConstraints; }), /spread pods over kubernetes.io\/hostname/],
    ['replicas pinned', 'Deployment', deployment((_c, d) => { d.spec!.replicas = 3; }), /must not set replicas/],
    ['label dropped', 'Service', (s: { metadata: { labels: Record<string, string> } }) => { s.metadata.labels = {}; }, /Service\/diffguard must carry/],
    ['Service selects nothing', 'Service', (s: { spec: { selector: Record<string, string> } }) => { s.spec.selector = { app: 'other' }; }, /Service diffguard must select/],
    ['PDB maxUnavailable 0', 'PodDisruptionBudget', (b: { spec: { maxUnavailable: number } }) => { b.spec.maxUnavailable = 0; }, /maxUnavailable must be 1/],
    ['HPA on another target', 'HorizontalPodAutoscaler', (a: { spec: { scaleTargetRef: { name: string } } }) => { a.spec.scaleTargetRef.name = 'other'; }, /must target the diffguard Deployment/],
    ['HPA with one replica', 'HorizontalPodAutoscaler', (a: { spec: { minReplicas: number } }) => { a.spec.minReplicas = 1; }, /minReplicas must be at least 2/],
    ['HPA on a metric nobody exports', 'HorizontalPodAutoscaler', (a: { spec: { metrics: unknown[] } }) => {
      a.spec.metrics.push({ type: 'Pods', pods: { metric: { name: 'diffguard_made_up' }, target: { type: 'AverageValue', averageValue: '1' } } });
    }, /diffguard_made_up, which the service does not export/],
    ['metadata range reachable', 'NetworkPolicy', (p: INetworkPolicy) => {
      const block = p.spec!.egress![0]!.to![0]!.ipBlock!;
      block.except = block.except!.filter((cidr) => cidr !== '169.254.0.0/16');
    }, /169\.254\.169\.254:80 must be blocked/],
    ['egress opened wide', 'NetworkPolicy', (p: INetworkPolicy) => { p.spec!.egress!.push({}); }, /10\.0\.0\.1:80 must be blocked/],
    ['egress to all cluster pods', 'NetworkPolicy', (p: INetworkPolicy) => { p.spec!.egress!.push({ to: [{ namespaceSelector: {} }] }); }, /limited to DNS/],
    ['DNS removed', 'NetworkPolicy', (p: INetworkPolicy) => { p.spec!.egress = p.spec!.egress!.slice(0, 1); }, /must allow DNS/],
    ['ingress on every port', 'NetworkPolicy', (p: INetworkPolicy) => { delete p.spec!.ingress![0]!.ports; }, /ingress must be limited to port 8888/],
    ['egress not governed', 'NetworkPolicy', (p: INetworkPolicy) => { p.spec!.policyTypes = ['Ingress']; }, /govern Ingress and Egress/],
  ];
  for (const [name, kind, mutate, expected] of cases) {
    it(name, () => expectProblem(kind, mutate, expected));
  }
});
