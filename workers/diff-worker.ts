// Thin entry point of a diff worker process (forked by src/pool).
import { diffTypes } from '../src/diff/index.ts';
import { startWorker } from '../src/pool/worker-runtime.ts';

startWorker(diffTypes);
