// Worker entry for tests: the production registry plus the hostile test diff types.
import { diffTypes } from '../../src/diff/index.ts';
import { startWorker } from '../../src/pool/worker-runtime.ts';
import { hostileDiffTypes } from './hostile-diff-types.ts';

startWorker(new Map([...diffTypes, ...hostileDiffTypes.map((d) => [d.name, d] as const)]));
