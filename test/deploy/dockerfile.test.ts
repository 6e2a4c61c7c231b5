import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { settings } from '../../src/config.ts';
import { PRODUCTION_MALLOC_ENV } from '../../bench/lib/service-process.ts';
import { parseDockerfile } from './dockerfile-parse.ts';
import { dockerfileProblems, dockerfileUid, dockerignoreExcludes, type BuildLayout } from './invariants.ts';

const root = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');
const buildConfig = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const layout: BuildLayout = { sourceFolders: buildConfig.include, defaultPort: settings.port.default };

describe('Dockerfile', () => {
  it('keeps every rule', () => {
    assert.deepEqual(dockerfileProblems(dockerfile, dockerignore, layout), []);
  });

  it('runs as uid 1000, the base image\'s `node` user', () => {
    assert.equal(dockerfileUid(dockerfile), 1000);
  });

  it('starts the files the build emits', () => {
    // tsc maps src/main.ts -> dist/src/main.js and workers/diff-worker.ts -> dist/workers/diff-worker.js.
    assert.deepEqual(buildConfig.include.sort(), ['src', 'workers']);
    assert.ok(existsSync(join(root, 'src/main.ts')), 'src/main.ts (CMD dist/src/main.js) is missing');
    assert.ok(existsSync(join(root, 'workers/diff-worker.ts')), 'workers/diff-worker.ts is missing');
  });

  it('sets the malloc settings the benchmarks measure, as `npm start` does', () => {
    const runtime = parseDockerfile(dockerfile).stages.at(-1);
    const env = runtime?.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ') ?? '';
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    for (const [name, value] of Object.entries(PRODUCTION_MALLOC_ENV)) {
      assert.match(env, new RegExp(`\\b${name}=${value}\\b`), `Dockerfile ENV ${name}`);
      assert.ok(start.includes(`${name}=\${${name}:-${value}}`), `npm start ${name}`);
    }
  });

  it('installs tini, and relies on util-linux for prlimit', () => {
    const runtime = parseDockerfile(dockerfile).stages.at(-1);
    const runs = runtime?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n') ?? '';
    assert.match(runs, /apt-get install -y --no-install-recommends tini/);
    assert.match(runs, /rm -rf \/var\/lib\/apt\/lists/);
    assert.match(runs, /test -x \/usr\/bin\/prlimit/);
  });
});

describe('dockerfile-parse', () => {
  it('joins continuations, drops comments and resolves ARG defaults in FROM', () => {
    const parsed = parseDockerfile('ARG BASE=node:24-slim\n# note\nFROM ${BASE} AS build\nRUN a \\\n  && b\nFROM $BASE\nUSER 1000\n');
    assert.deepEqual(parsed.stages.map((s) => [s.image, s.name]), [['node:24-slim', 'build'], ['node:24-slim', undefined]]);
    assert.deepEqual(parsed.stages[0]?.instructions.map((i) => [i.keyword, i.args]), [['RUN', 'a && b']]);
  });
});

describe('.dockerignore', () => {
  it('keeps sources and lockfile, drops everything else', () => {
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.build.json', 'src/config.ts', 'workers/diff-worker.ts']) {
      assert.equal(dockerignoreExcludes(dockerignore, path), false, path);
    }
    for (const path of ['node_modules/yaml/package.json', 'dist/src/main.js', '.git/config', 'test/deploy/manifests.test.ts', 'bench/results/x.json', 'deploy/kubernetes/base/deployment.yaml', 'src/.env', 'README.md']) {
      assert.equal(dockerignoreExcludes(dockerignore, path), true, path);
    }
  });
});

/** Applies `edit` to the Dockerfile text and expects `expected` among the reported problems. */
function expectProblem(edit: (text: string) => string, expected: RegExp, ignore = dockerignore): void {
  const edited = edit(dockerfile);
  assert.notEqual(edited, dockerfile, 'the edit changed nothing');
  const problems = dockerfileProblems(edited, ignore, layout);
  assert.ok(problems.some((p) => expected.test(p)), `expected ${expected}, got:\n${problems.join('\n')}`);
}

describe('each Dockerfile rule catches the edit that breaks it', () => {
  const cases: [string, (text: string) => string, RegExp][] = [
    ['Node 20 base', (t) => t.replace('node:24-bookworm-slim', 'node:20-bookworm-slim'), /is not Node 24/],
    ['dev dependencies at runtime', (t) => t.replace('npm ci --omit=dev', 'npm ci'), /npm ci --omit=dev/],
    ['no build stage', (t) => t.replace('RUN npm run build', 'RUN true'), /run `npm run build`/],
    ['workers not copied', (t) => t.replace('COPY workers ./workers\n', ''), /must copy workers\//],
    ['package.json not copied', (t) => t.replace('COPY package.json package-lock.json ./\nCOPY --from=deps', 'COPY --from=deps'), /must copy package.json/],
    ['runs as root', (t) => t.replace('USER 1000:1000', 'USER 0'), /must not be root/],
    ['named user', (t) => t.replace('USER 1000:1000', 'USER node'), /must be numeric/],
    ['no user', (t) => t.replace('USER 1000:1000\n', ''), /must set a USER/],
    ['port not exposed', (t) => t.replace('EXPOSE 8888', 'EXPOSE 3000'), /EXPOSE 8888/],
    ['health check elsewhere', (t) => t.replace("'/healthz'", "'/'"), /HEALTHCHECK must probe \/healthz/],
    ['no init', (t) => t.replace('ENTRYPOINT ["/usr/bin/tini", "--"]\n', ''), /ENTRYPOINT must be an init/],
    ['started through npm', (t) => t.replace('CMD ["node", "dist/src/main.js"]', 'CMD ["npm", "start"]'), /CMD must be/],
    ['not production', (t) => t.replace('NODE_ENV=production', 'NODE_ENV=development'), /NODE_ENV must be production/],
    ['heap flag for every process', (t) => t.replace('PORT=8888', 'PORT=8888 NODE_OPTIONS=--max-old-space-size=400'), /NODE_OPTIONS/],
  ];
  for (const [name, edit, expected] of cases) {
    it(name, () => expectProblem(edit, expected));
  }

  it('node_modules in the build context', () => {
    const problems = dockerfileProblems(dockerfile, '*\n!package.json\n!package-lock.json\n!tsconfig*.json\n!src\n!workers\n!node_modules\n', layout);
    assert.ok(problems.some((p) => /must exclude node_modules/.test(p)), problems.join('\n'));
  });

  it('a copied file left out of the build context', () => {
    const problems = dockerfileProblems(dockerfile, dockerignore.replace('!workers\n', ''), layout);
    assert.ok(problems.some((p) => /excludes workers, which the Dockerfile copies/.test(p)), problems.join('\n'));
  });
});
