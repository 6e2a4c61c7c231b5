// `npm start` under a supervisor: SIGTERM to the npm process stops the server and every worker it
// started, and frees the port. `npm run dev` is the same chain (npm → sh → node) without the build;
// `npm start` must end in the same `exec node`, checked below.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Live descendants of `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    frontier = [...parentOf].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...frontier);
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers signal 0; its state is Z once it has exited.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('npm start', () => {
  it('ends in `exec node`, so the npm script process is node itself', () => {
    const scripts = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).scripts as Record<string, string>;
    // (after the malloc settings the image also sets: `NAME=${NAME:-value} … exec node`)
    assert.match(scripts.start!, /(^|&& )(\w+=\$\{\w+:-\w+\} )*exec node dist\/src\/main\.js$/);
    assert.match(scripts.dev!, /^exec node src\/main\.ts$/);
  });

  it('stops with everything it started when the npm process gets SIGTERM, and logs where it serves', async (t) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DIFFER_PARALLELISM: '1', MEMORY_LIMIT_MIB: '4096', LOG_LEVEL: 'info' };
    delete env.WORKERS;
    const npm = spawn('npm', ['run', '--silent', 'dev'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const started: number[] = [];
    t.after(() => {
      // Whatever happens, leave nothing behind.
      for (const pid of [npm.pid!, ...started]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    const lines: Record<string, any>[] = [];
    let output = '';
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const listening = new Promise<Record<string, any>>((resolve, reject) => {
      let buffered = '';
      npm.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const text = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          output += `${text}\n`;
          if (!text.startsWith('{')) continue;
          const line = JSON.parse(text) as Record<string, any>;
          lines.push(line);
          if (typeof line.url === 'string') resolve(line);
        }
      });
      npm.once('exit', () => reject(new Error(`npm exited before listening:\n${output}`)));
    });
    const line = await listening;
    assert.equal(line.bind_address, '127.0.0.1');
    assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(line.msg, `diffguard listening on ${line.url}`);
    const mapped = lines.find((l) => /web-monitoring-diff settings/.test(l.msg));
    assert.deepEqual(mapped?.mapped, { DIFFER_PARALLELISM: 'WORKERS' }, 'one line says which anchor settings were mapped');
    const { port } = line;
    assert.ok(await portAccepts(port));

    // The server and its workers (one, plus the spare) all descend from the npm process.
    for (const deadline = Date.now() + 30_000; descendants(npm.pid!).length < 3 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    started.push(...descendants(npm.pid!));
    assert.ok(started.length >= 3, `server and workers under npm: ${started.join(', ')}`);

    npm.kill('SIGTERM');
    const [code] = (await once(npm, 'exit')) as [number | null];
    assert.equal(code, 0, output);
    for (const deadline = Date.now() + 10_000; started.some(alive) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(started.filter(alive), [], 'no process started by npm start remains');
    assert.equal(await portAccepts(port), false, 'the port is free');
  });
});
