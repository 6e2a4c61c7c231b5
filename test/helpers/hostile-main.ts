// The service as a process (src/main.ts main(): signals, exit codes) with the hostile test diff
// types, for tests that signal it while a job is running.
import { fileURLToPath } from 'node:url';
import { diffTypes } from '../../src/diff/index.ts';
import { main } from '../../src/main.ts';
import { hostileDiffTypes } from './hostile-diff-types.ts';

void main({
  workerModule: fileURLToPath(new URL('./hostile-worker.ts', import.meta.url)),
  diffTypes: new Map([...diffTypes, ...hostileDiffTypes.map((d) => [d.name, d] as const)]),
});
