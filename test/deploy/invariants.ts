// The rules the Docker image and the Kubernetes manifests must keep. Each check returns the list of
// broken rules (empty = fine), so the tests can show every rule both passing on the real files and
// failing on a deliberately broken copy.
import { BlockList, isIPv4 } from 'node:net';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { ConfigError, loadConfig, settings, type Config } from '../../src/config.ts';
import { derivePoolSizing, sizingProblem } from '../../src/pool/sizing.ts';
import { execForm, parseDockerfile, type Stage } from './dockerfile-parse.ts';
import type { KubeObject } from './kustomize-lite.ts';

const MiB = 1024 * 1024;
export const APP_NAME = 'diffguard';
export const NAME_LABEL = 'app.kubernetes.io/name';

/**
 * Resident memory of the main process without any bodies (Node + express + prom-client + pino),
 * measured ~90 MiB idle, rounded up for response buffers. Used for the worst case the start-up check does not cover: every worker at its RSS cap.
 */
export const MAIN_PROCESS_BASELINE_MIB = 128;

/**
 * The node binary's pages in each worker's resident set (~50 MiB measured): WORKER_RSS_LIMIT_MIB
 * counts them in every worker, the kernel charges the cgroup for them once (the main process's
 * baseline already includes them).
 */
export const WORKER_SHARED_PAGES_MIB = 48;

/** The idle spare worker's own memory (RssAnon + RssShmem, ~40 MiB fresh); its shared pages are the same binary. */
export const SPARE_WORKER_OWN_MIB = 48;

/** Ranges that must stay unreachable from a pod (SSRF): private, CGNAT, link-local (cloud metadata). */
export const BLOCKED_EGRESS_SAMPLES = [
  '10.0.0.1', '10.96.0.1', '10.255.255.254',
  '172.16.0.1', '172.31.255.254',
  '192.168.0.1', '192.168.255.254',
  '169.254.169.254', '169.254.0.1',
  '100.64.0.1', '100.127.255.254',
  '127.0.0.1',
];
export const PUBLIC_EGRESS_SAMPLES = ['93.184.215.14', '151.101.1.69', '8.8.8.8'];

// ---------------------------------------------------------------------------------------------
// Quantities and environment

/** Kubernetes quantity → number (cores for CPU, bytes for memory). Only the suffixes manifests use. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi|Ti)?$/.exec(quantity);
  if (match === null) throw new Error(`unsupported quantity ${quantity}`);
  const factors: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: MiB, Gi: 1024 * MiB, Ti: 1024 * 1024 * MiB };
  return Number(match[1]) * (factors[match[2] ?? ''] ?? Number.NaN);
}

function resourceQuantity(container: IContainer, resource: string): number | undefined {
  const [kind, name] = resource.split('.') as ['requests' | 'limits', string];
  const value = container.resources?.[kind]?.[name];
  return value === undefined ? undefined : parseQuantity(value);
}

/** The container's environment as the kubelet would set it (literal values and resourceFieldRef). */
export function resolveEnv(container: IContainer): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  for (const variable of container.env ?? []) {
    if (variable.name in env) problems.push(`${variable.name} is set twice`);
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    } else if (variable.valueFrom?.resourceFieldRef !== undefined) {
      const ref = variable.valueFrom.resourceFieldRef;
      const amount = resourceQuantity(container, ref.resource);
      if (amount === undefined) problems.push(`${variable.name} refers to ${ref.resource}, which is not set`);
      // The kubelet rounds up: 1500m with divisor 1 gives 2.
      else env[variable.name] = String(Math.ceil(amount / parseQuantity(ref.divisor ?? '1')));
    } else {
      problems.push(`${variable.name} has a value source the tests cannot resolve`);
    }
  }
  return { env, problems };
}

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests

export interface ManifestContext {
  /** uid of the Dockerfile's USER. */
  imageUid: number;
  /** Metric names the service exports (for HPA pods metrics). */
  exportedMetrics: ReadonlySet<string>;
}

function byKind<T>(objects: readonly KubeObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as unknown as T[];
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function portNumber(port: string | number | undefined, container: IContainer): number | undefined {
  if (typeof port === 'number') return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function preStopSeconds(container: IContainer): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep !== undefined) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  const sleepAt = command.indexOf('sleep');
  return sleepAt === -1 ? 0 : Number(command[sleepAt + 1] ?? 0);
}

function probeProblems(name: string, probe: IProbe | undefined, path: string, container: IContainer, servicePort: number): string[] {
  if (probe === undefined) return [`${name} is missing`];
  const problems: string[] = [];
  if (probe.httpGet?.path !== path) problems.push(`${name} must GET ${path}, not ${probe.httpGet?.path ?? '(no httpGet)'}`);
  const port = portNumber(probe.httpGet?.port, container);
  if (port !== servicePort) problems.push(`${name} must use port ${servicePort}, not ${String(probe.httpGet?.port)}`);
  return problems;
}

function probeWindowSeconds(probe: IProbe | undefined): number {
  return (probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3);
}

/**
 * Whether a container with `cpus` CPUs and `memoryLimitBytes` can run `config`: the service's own
 * start-up check, and the stricter worst case of every worker at its RSS cap (a container over its
 * limit is OOM-killed as a whole, before the per-worker watchdog can act).
 */
export function memoryFitProblems(config: Config, cpus: number, memoryLimitBytes: number): string[] {
  const problems: string[] = [];
  const sizing = derivePoolSizing(config, { cpus, memoryLimitBytes });
  const refusal = sizingProblem(sizing);
  if (refusal !== undefined) problems.push(`the service would refuse to start: ${refusal}`);
  const inputMib = sizing.requiredMib - sizing.workers * config.workerHeapMib;
  const worstCaseMib =
    MAIN_PROCESS_BASELINE_MIB + inputMib + sizing.workers * (config.workerRssLimitMib - WORKER_SHARED_PAGES_MIB) + SPARE_WORKER_OWN_MIB;
  if (worstCaseMib > memoryLimitBytes / MiB) {
    problems.push(`every worker at WORKER_RSS_LIMIT_MIB plus bodies and the main process needs ${worstCaseMib} MiB, over the ${memoryLimitBytes / MiB} MiB limit (the container would be OOM-killed before the watchdog acts)`);
  }
  return problems;
}

export function deploymentProblems(deployment: IDeployment, context: ManifestContext): string[] {
  const problems: string[] = [];
  const podSpec = deployment.spec?.template.spec;
  const podLabels = deployment.spec?.template.metadata?.labels;
  if (!selects(deployment.spec?.selector.matchLabels, podLabels)) problems.push('selector must match the pod template labels');
  const containers = podSpec?.containers ?? [];
  const container = containers.find((c) => c.name === APP_NAME);
  if (podSpec === undefined || container === undefined) return [...problems, `no container named ${APP_NAME}`];

  // Resources: Guaranteed memory (request = limit), a CPU request, no CPU limit (no throttling).
  const memoryRequest = resourceQuantity(container, 'requests.memory');
  const memoryLimit = resourceQuantity(container, 'limits.memory');
  const cpuRequest = resourceQuantity(container, 'requests.cpu');
  if (memoryLimit === undefined) problems.push('memory limit must be set');
  if (memoryRequest === undefined) problems.push('memory request must be set');
  else if (memoryLimit !== undefined && memoryRequest !== memoryLimit) problems.push('memory request must equal the memory limit');
  if (cpuRequest === undefined) problems.push('CPU request must be set');
  if (container.resources?.limits?.['cpu'] !== undefined) {
    problems.push('no CPU limit: CFS throttling stalls probes; jobs are CPU-capped by JOB_CPU_LIMIT_MS');
  }

  // Configuration: what the service will load, and whether it fits the memory limit.
  const { env, problems: envProblems } = resolveEnv(container);
  problems.push(...envProblems);
  let config: Config | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((p) => `env: ${p}`));
  }
  if (/max-old-space-size/.test(env['NODE_OPTIONS'] ?? '')) {
    problems.push('NODE_OPTIONS must not set --max-old-space-size (it overrides the per-worker heap caps)');
  }
  if (config !== undefined && cpuRequest !== undefined && memoryLimit !== undefined) {
    const cpus = Math.ceil(cpuRequest);
    if (config.workers !== cpus) problems.push(`WORKERS (${config.workers || 'auto'}) must match the CPU request (${cpus})`);
    if (config.memoryLimitMib > memoryLimit / MiB) problems.push('MEMORY_LIMIT_MIB must not exceed the memory limit');
    problems.push(...memoryFitProblems(config, cpus, memoryLimit));
  }

  // Probes.
  const servicePort = config?.port ?? Number(env['PORT'] ?? settings.port.default);
  if (!container.ports?.some((p) => p.containerPort === servicePort)) problems.push(`container must expose PORT ${servicePort}`);
  problems.push(...probeProblems('livenessProbe', container.livenessProbe, '/healthz', container, servicePort));
  problems.push(...probeProblems('readinessProbe', container.readinessProbe, '/readyz', container, servicePort));
  if (container.startupProbe !== undefined) {
    problems.push(...probeProblems('startupProbe', container.startupProbe, '/healthz', container, servicePort));
  }
  if ((container.livenessProbe?.timeoutSeconds ?? 1) < 2) problems.push('livenessProbe timeoutSeconds must be at least 2');
  if (probeWindowSeconds(container.livenessProbe) < 60) problems.push('livenessProbe must tolerate at least 60 s of failures');
  if (probeWindowSeconds(container.livenessProbe) <= probeWindowSeconds(container.readinessProbe)) {
    problems.push('a pod must turn unready before liveness restarts it');
  }

  // Shutdown: the kubelet's SIGKILL must come after preStop + SHUTDOWN_DELAY_MS + DRAIN_TIMEOUT_MS.
  if (config !== undefined) {
    const graceSeconds = podSpec.terminationGracePeriodSeconds ?? 30;
    const neededSeconds = preStopSeconds(container) + (config.shutdownDelayMs + config.drainTimeoutMs) / 1000;
    if (graceSeconds <= neededSeconds) {
      problems.push(`terminationGracePeriodSeconds (${graceSeconds}) must exceed preStop + SHUTDOWN_DELAY_MS + DRAIN_TIMEOUT_MS (${neededSeconds} s)`);
    }
  }
  if (preStopSeconds(container) === 0) problems.push('a preStop pause must let endpoint removal propagate');

  // Security.
  const podSecurity = podSpec.securityContext;
  const containerSecurity = container.securityContext;
  if ((containerSecurity?.runAsNonRoot ?? podSecurity?.runAsNonRoot) !== true) problems.push('runAsNonRoot must be true');
  const uid = containerSecurity?.runAsUser ?? podSecurity?.runAsUser;
  if (uid === undefined || uid === 0) problems.push('runAsUser must be a non-zero uid');
  else if (uid !== context.imageUid) problems.push(`runAsUser ${uid} must match the image's USER ${context.imageUid}`);
  if (containerSecurity?.readOnlyRootFilesystem !== true) problems.push('readOnlyRootFilesystem must be true');
  if (containerSecurity?.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation must be false');
  if (containerSecurity?.privileged === true) problems.push('the container must not be privileged');
  if (!containerSecurity?.capabilities?.drop?.includes('ALL')) problems.push('capabilities must drop ALL');
  if ((containerSecurity?.capabilities?.add ?? []).length > 0) problems.push('no capabilities may be added');
  if ((containerSecurity?.seccompProfile ?? podSecurity?.seccompProfile)?.type !== 'RuntimeDefault') {
    problems.push('seccompProfile must be RuntimeDefault');
  }
  if (podSpec.automountServiceAccountToken !== false) problems.push('the pod needs no API token: automountServiceAccountToken must be false');
  const tmpMount = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
  const tmpVolume = podSpec.volumes?.find((v) => v.name === tmpMount?.name);
  if (tmpVolume?.emptyDir === undefined) problems.push('/tmp must be an emptyDir (the root filesystem is read-only)');

  // Placement: replicas spread over nodes.
  const spreadsOverNodes = podSpec.topologySpreadConstraints?.some(
    (c) => c.topologyKey === 'kubernetes.io/hostname' && c.maxSkew === 1 && selects(c.labelSelector?.matchLabels, podLabels),
  );
  if (spreadsOverNodes !== true) problems.push('topologySpreadConstraints must spread pods over kubernetes.io/hostname');
  return problems;
}

export function serviceProblems(service: IService, deployment: IDeployment): string[] {
  const problems: string[] = [];
  const podLabels = deployment.spec?.template.metadata?.labels;
  if (!selects(service.spec?.selector, podLabels)) problems.push(`Service ${service.metadata?.name} must select the diffguard pods`);
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === APP_NAME);
  const targets = (service.spec?.ports ?? []).map((p) => (container === undefined ? undefined : portNumber(p.targetPort ?? p.port, container)));
  if (!targets.includes(container?.ports?.[0]?.containerPort)) problems.push('the Service must target the container port');
  return problems;
}

export function podDisruptionBudgetProblems(budget: IPodDisruptionBudget, deployment: IDeployment): string[] {
  const problems: string[] = [];
  if (budget.spec?.maxUnavailable !== 1) problems.push('PodDisruptionBudget maxUnavailable must be 1');
  if (budget.spec?.minAvailable !== undefined) problems.push('PodDisruptionBudget must not also set minAvailable');
  if (!selects(budget.spec?.selector?.matchLabels, deployment.spec?.template.metadata?.labels)) {
    problems.push('PodDisruptionBudget must select the diffguard pods');
  }
  return problems;
}

export function autoscalerProblems(autoscaler: IHorizontalPodAutoscaler, deployment: IDeployment, context: ManifestContext): string[] {
  const problems: string[] = [];
  const target = autoscaler.spec?.scaleTargetRef;
  if (target?.apiVersion !== 'apps/v1' || target.kind !== 'Deployment' || target.name !== deployment.metadata?.name) {
    problems.push('the HPA must target the diffguard Deployment');
  }
  const minReplicas = autoscaler.spec?.minReplicas ?? 1;
  if (minReplicas < 2) problems.push('minReplicas must be at least 2, so a voluntary disruption leaves a pod serving');
  if ((autoscaler.spec?.maxReplicas ?? 0) < minReplicas) problems.push('maxReplicas must be at least minReplicas');
  const metrics = autoscaler.spec?.metrics ?? [];
  if (!metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu')) problems.push('the HPA must scale on CPU');
  for (const metric of metrics) {
    if (metric.type === 'Pods' && !context.exportedMetrics.has(metric.pods?.metric.name ?? '')) {
      problems.push(`the HPA scales on ${metric.pods?.metric.name}, which the service does not export`);
    }
  }
  if (deployment.spec?.replicas !== undefined) problems.push('the Deployment must not set replicas while an HPA owns the count');
  return problems;
}

function cidrContains(cidr: string, address: string): boolean {
  const [network = '', prefix = ''] = cidr.split('/');
  if (!isIPv4(network) || !isIPv4(address)) return false;
  const list = new BlockList();
  list.addSubnet(network, Number(prefix), 'ipv4');
  return list.check(address, 'ipv4');
}

/** Whether any egress rule of the policy lets the pod open `address:port` (ipBlock peers only). */
export function egressAllows(policy: INetworkPolicy, address: string, port: number): boolean {
  return (policy.spec?.egress ?? []).some((rule) => {
    const portOk = rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((p) => p.port === undefined || p.port === port);
    const peers = rule.to ?? [];
    // A rule without peers allows every destination.
    const peerOk = peers.length === 0 || peers.some((peer) =>
      peer.ipBlock !== undefined &&
      cidrContains(peer.ipBlock.cidr, address) &&
      !(peer.ipBlock.except ?? []).some((except) => cidrContains(except, address)));
    return portOk && peerOk;
  });
}

export function networkPolicyProblems(policy: INetworkPolicy, deployment: IDeployment): string[] {
  const problems: string[] = [];
  const podLabels = deployment.spec?.template.metadata?.labels;
  const containerPort = deployment.spec?.template.spec?.containers.find((c) => c.name === APP_NAME)?.ports?.[0]?.containerPort;
  if (!selects(policy.spec?.podSelector?.matchLabels, podLabels)) problems.push('the NetworkPolicy must select the diffguard pods');
  const types = policy.spec?.policyTypes ?? [];
  if (!types.includes('Ingress') || !types.includes('Egress')) problems.push('the NetworkPolicy must govern Ingress and Egress');
  for (const rule of policy.spec?.ingress ?? []) {
    if (rule.ports === undefined || !rule.ports.every((p) => p.port === containerPort || p.port === 'http')) {
      problems.push(`ingress must be limited to port ${containerPort}`);
    }
  }
  for (const address of BLOCKED_EGRESS_SAMPLES) {
    for (const port of [80, 443, 8080]) {
      if (egressAllows(policy, address, port)) problems.push(`egress to ${address}:${port} must be blocked`);
    }
  }
  for (const address of PUBLIC_EGRESS_SAMPLES) {
    if (!egressAllows(policy, address, 443)) problems.push(`egress to the public address ${address}:443 must be allowed`);
  }
  // Selector peers (in-cluster pods) only for DNS, only in kube-system.
  let allowsDns = false;
  for (const rule of policy.spec?.egress ?? []) {
    const selectorPeers = (rule.to ?? []).filter((peer) => peer.ipBlock === undefined);
    if (selectorPeers.length === 0) continue;
    const dnsOnly = (rule.ports ?? []).length > 0 && (rule.ports ?? []).every((p) => p.port === 53);
    const kubeSystemOnly = selectorPeers.every(
      (peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kube-system' && peer.podSelector !== undefined,
    );
    if (!dnsOnly || !kubeSystemOnly) problems.push('egress to cluster pods must be limited to DNS (port 53) in kube-system');
    else if ((rule.ports ?? []).some((p) => p.protocol === 'UDP')) allowsDns = true;
  }
  if (!allowsDns) problems.push('egress must allow DNS (UDP 53) to kube-system');
  return problems;
}

export function labelProblems(objects: readonly KubeObject[]): string[] {
  return objects
    .filter((object) => object.metadata.labels?.[NAME_LABEL] !== APP_NAME)
    .map((object) => `${object.kind}/${object.metadata.name} must carry ${NAME_LABEL}: ${APP_NAME}`);
}

/** Every rule over a rendered set of objects. */
export function manifestProblems(objects: readonly KubeObject[], context: ManifestContext): string[] {
  const [deployment, ...otherDeployments] = byKind<IDeployment>(objects, 'Deployment');
  if (deployment === undefined || otherDeployments.length > 0) return ['exactly one Deployment expected'];
  const problems = [...labelProblems(objects), ...deploymentProblems(deployment, context)];
  const required: [string, (object: never) => string[]][] = [
    ['Service', (s: IService) => serviceProblems(s, deployment)],
    ['PodDisruptionBudget', (b: IPodDisruptionBudget) => podDisruptionBudgetProblems(b, deployment)],
    ['HorizontalPodAutoscaler', (a: IHorizontalPodAutoscaler) => autoscalerProblems(a, deployment, context)],
    ['NetworkPolicy', (p: INetworkPolicy) => networkPolicyProblems(p, deployment)],
  ];
  for (const [kind, check] of required) {
    const found = byKind<never>(objects, kind);
    if (found.length === 0) problems.push(`a ${kind} is missing`);
    for (const object of found) problems.push(...check(object));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

/**
 * A .dockerignore pattern as Docker reads it (Go filepath.Match plus `**`). Hand-written because
 * node:path's matchesGlob differs on a point that matters here: Go's `*` also matches dotfiles (.git, .env).
 */
function dockerPatternRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else {
        source += '.*';
      }
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < pattern.length) source += `\\${pattern[++i]}`;
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether `.dockerignore` keeps `path` out of the build context (later rules win; a rule on a folder covers its contents). */
export function dockerignoreExcludes(dockerignore: string, path: string): boolean {
  const rules = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => ({ negate: line.startsWith('!'), pattern: line.replace(/^!/, '').replace(/^\/|\/$/g, '') }));
  const segments = path.split('/');
  const prefixes = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    const pattern = dockerPatternRegExp(rule.pattern);
    if (prefixes.some((prefix) => pattern.test(prefix))) excluded = !rule.negate;
  }
  return excluded;
}

export interface BuildLayout {
  /** tsconfig.build.json's `include` folders, which the build stage must copy. */
  sourceFolders: readonly string[];
  /** The port the service listens on by default. */
  defaultPort: number;
}

function runtimeStageOf(stages: Stage[]): Stage | undefined {
  return stages.at(-1);
}

function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(match[1] ?? '', (match[2] ?? '').replace(/^"|"$/g, ''));
  }
  return env;
}

/** The uid of the runtime stage's USER, if it is numeric. */
export function dockerfileUid(dockerfile: string): number | undefined {
  const runtime = runtimeStageOf(parseDockerfile(dockerfile).stages);
  const user = runtime?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args.split(':')[0];
  return user !== undefined && /^\d+$/.test(user) ? Number(user) : undefined;
}

export function dockerfileProblems(dockerfile: string, dockerignore: string, layout: BuildLayout): string[] {
  const problems: string[] = [];
  const { stages } = parseDockerfile(dockerfile);
  const runtime = runtimeStageOf(stages);
  if (runtime === undefined) return ['no FROM'];
  for (const stage of stages) {
    if (!/^(node:24([.-]|$)|gcr\.io\/distroless\/nodejs24)/.test(stage.image)) problems.push(`base image ${stage.image} is not Node 24`);
  }
  const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const copies = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/));
  if (stages.length < 2) problems.push('the build must be multi-stage (no compiler or devDependencies at runtime)');

  // Build stage: compiles everything tsconfig.build.json includes.
  const build = stages.find((stage) => runs(stage).some((run) => /npm run build/.test(run)));
  if (build === undefined || build === runtime) problems.push('a separate build stage must run `npm run build`');
  else {
    const copied = copies(build).flatMap((args) => args.slice(0, -1));
    for (const folder of layout.sourceFolders) {
      if (!copied.includes(folder)) problems.push(`the build stage must copy ${folder}/ (tsconfig.build.json includes it)`);
    }
  }

  // Runtime stage: production dependencies only, compiled code, package.json (ESM "type": "module").
  const runtimeCopies = copies(runtime);
  const modulesCopy = runtimeCopies.find((args) => args.includes('/app/node_modules') || args.some((a) => a.endsWith('node_modules')));
  const modulesStageName = modulesCopy?.find((a) => a.startsWith('--from='))?.slice('--from='.length);
  const modulesStage = stages.find((stage) => stage.name === modulesStageName) ?? runtime;
  if (!runs(modulesStage).some((run) => /npm ci\b.*--omit=dev/.test(run))) {
    problems.push('runtime node_modules must come from `npm ci --omit=dev`');
  }
  if (!runtimeCopies.some((args) => args.includes('package.json'))) problems.push('the runtime stage must copy package.json');
  if (!runtimeCopies.some((args) => args.some((a) => a.startsWith('--from=')) && args.some((a) => a.includes('dist')))) {
    problems.push('the runtime stage must copy dist/ from the build stage');
  }
  const env = envOf(runtime);
  if (env.get('NODE_ENV') !== 'production') problems.push('NODE_ENV must be production');
  if (/max-old-space-size/.test(env.get('NODE_OPTIONS') ?? '')) problems.push('NODE_OPTIONS must not set --max-old-space-size');

  const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
  const uid = dockerfileUid(dockerfile);
  if (user === undefined) problems.push('the runtime stage must set a USER');
  else if (uid === undefined) problems.push(`USER ${user} must be numeric, so Kubernetes can verify runAsNonRoot`);
  else if (uid === 0) problems.push('USER must not be root');

  const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  if (!exposed.some((port) => port.replace(/\/tcp$/, '') === String(layout.defaultPort))) problems.push(`EXPOSE ${layout.defaultPort} is missing`);
  const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK');
  if (healthcheck === undefined || !/\bCMD\b.*\/healthz/.test(healthcheck.args)) problems.push('HEALTHCHECK must probe /healthz');

  const entrypoint = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT');
  const entry = entrypoint === undefined ? [] : execForm(entrypoint.args);
  if (!/(^|\/)(tini|dumb-init)$/.test(entry[0] ?? '')) problems.push('ENTRYPOINT must be an init (tini) in exec form, so SIGTERM reaches node and workers are reaped');
  const cmdInstruction = runtime.instructions.find((i) => i.keyword === 'CMD');
  const cmd = cmdInstruction === undefined ? [] : execForm(cmdInstruction.args);
  if (cmd[0] !== 'node' || cmd[1] !== 'dist/src/main.js') problems.push('CMD must be ["node", "dist/src/main.js"] (no npm: it would not forward signals)');

  // Build context: only what is copied.
  for (const path of ['node_modules/express/package.json', 'dist/src/main.js', '.git/HEAD', 'test/deploy/x.test.ts', 'bench/results/run.json', 'fixtures/pages/a.html', '.env', 'src/node_modules/x.js']) {
    if (!dockerignoreExcludes(dockerignore, path)) problems.push(`.dockerignore must exclude ${path}`);
  }
  for (const stage of stages) {
    for (const args of copies(stage)) {
      if (args.some((a) => a.startsWith('--from='))) continue;
      for (const source of args.slice(0, -1)) {
        if (dockerignoreExcludes(dockerignore, source)) problems.push(`.dockerignore excludes ${source}, which the Dockerfile copies`);
      }
    }
  }
  return problems;
}
