export { DiffPool, defaultWorkerModule, type Admission, type PoolObserver, type PoolOptions, type RunOptions, type JobResultLabel } from './pool.ts';
export { readContainerResources, type ContainerResources } from './cgroup.ts';
export { derivePoolSizing, sizingProblem, type PoolSizing } from './sizing.ts';
export { escapedJsonBytes, spliceJsonChunks, spliceJsonObject } from './json-result.ts';
export type { DiffJob, JobSide, JsonJobResult } from './job.ts';
export type { WorkerLimits } from './worker-process.ts';
