// CPU per diff of the dmp diff types inside one process, without HTTP or the pool:
// `node bench/dmp-cpu.ts [html_source_dmp|html_text_dmp] [--rounds N] [--profile] [--scaled BYTES]`.
// Runs the worker's own job function (runJob: decode, diff, JSON answer) on the 20 corpus pairs
// (or on one buildScaledPair of BYTES), then each stage alone, and prints CPU ms per diff
// (process.cpuUsage, user + system: the median and the lowest of the rounds). --profile adds a V8 CPU profile of the
// whole-job loop, summed by stage (the innermost frame that belongs to a known stage).
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupSemantic, makeDiff } from '@sanity/diff-match-patch';
import { loadConfig } from '../src/config.ts';
import { diffTypes } from '../src/diff/index.ts';
import { cleanupSemantic as portCleanupSemantic, diffMain as portDiffMain } from '../src/diff/dmp-core.ts';
import { diffWholeTexts, keepSurrogatePairsWhole } from '../src/diff/text-engine.ts';
import { extractVisibleText } from '../src/diff/visible-text.ts';
import { diffSettingsFrom } from '../src/http/app.ts';
import { escapedJsonBytes } from '../src/pool/json-result.ts';
import { runJob, type ReceivedJob } from '../src/pool/worker-runtime.ts';
import { decodeVersion } from '../src/sniff/index.ts';
import { buildScaledPair, corpusDir, loadPagePairs } from './lib/corpus.ts';
import { markdownTable } from './lib/markdown.ts';

const args = process.argv.slice(2);
const diffType = args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg)) ?? 'html_source_dmp';
const optionValue = (name: string): number | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : Number(args[at + 1]);
};
const rounds = optionValue('--rounds') ?? 7;
const scaledBytes = optionValue('--scaled');
const profile = args.includes('--profile');
if (diffType !== 'html_source_dmp' && diffType !== 'html_text_dmp') throw new Error(`unknown diff type ${diffType}`);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = loadPagePairs(corpusDir(repoRoot));
const pairs = scaledBytes === undefined ? corpus : [{ id: `scaled-${scaledBytes}`, ...buildScaledPair(corpus, scaledBytes) }];
const definition = diffTypes.get(diffType)!;
const settings = diffSettingsFrom(loadConfig({}));
const options = definition.parseOptions({}, settings);
const timeoutMs = (options as { timeoutMs: number }).timeoutMs;
const contentType = 'text/html; charset=utf-8';
const jobs: ReceivedJob[] = pairs.map((pair) => ({
  diffType,
  a: { bytes: pair.a, contentType },
  b: { bytes: pair.b, contentType },
  options,
  ignoreDecodingErrors: false,
}));

// The texts the dmp engine gets: the decoded sources, or their visible texts.
const decoded = pairs.map((pair) => [decodeVersion(pair.a, { contentType, ignoreDecodingErrors: false, side: 'a' }).text, decodeVersion(pair.b, { contentType, ignoreDecodingErrors: false, side: 'b' }).text] as const);
const visible = { maxNodes: settings.maxHtmlNodes, maxChars: settings.maxHtmlChars };
const texts =
  diffType === 'html_source_dmp'
    ? decoded
    : decoded.map(([a, b]) => [extractVisibleText(a, { ...visible, side: 'a' }), extractVisibleText(b, { ...visible, side: 'b' })] as const);
const deadline = { timeout: Math.max(timeoutMs, 1) / 1000, checkLines: false };
const raws = texts.map(([a, b]) => makeDiff(a, b, deadline));
const segmentsOf = texts.map(([a, b]) => diffWholeTexts(a, b, timeoutMs));
const results = jobs.map((job, i) => definition.run({ bytes: job.a.bytes, text: decoded[i]![0] }, { bytes: job.b.bytes, text: decoded[i]![1] }, options));

/** CPU ms per diff of `each` over all pairs, `rounds` times after one warm-up round: [median, lowest]. */
function cpuPerDiff(each: (index: number) => unknown): [number, number] {
  const perRound: number[] = [];
  for (let round = -1; round < rounds; round += 1) {
    const start = process.cpuUsage();
    for (let index = 0; index < pairs.length; index += 1) each(index);
    const used = process.cpuUsage(start);
    if (round >= 0) perRound.push((used.user + used.system) / 1000 / pairs.length);
  }
  perRound.sort((x, y) => x - y);
  return [perRound[Math.floor(perRound.length / 2)]!, perRound[0]!];
}

const stages: [string, (index: number) => unknown][] = [
  ['whole job (runJob: decode, diff, JSON)', (i) => runJob(diffTypes, jobs[i]!)],
  ['decode both sides (decodeVersion)', (i) => [decodeVersion(pairs[i]!.a, { contentType, ignoreDecodingErrors: false, side: 'a' }), decodeVersion(pairs[i]!.b, { contentType, ignoreDecodingErrors: false, side: 'b' })]],
  ...(diffType === 'html_text_dmp'
    ? ([['visible text of both sides (extractVisibleText)', (i) => texts[i]!.map((_, side) => extractVisibleText(decoded[i]![side]!, { ...visible, side: 'a' }))]] as [string, (index: number) => unknown][])
    : []),
  ['diffWholeTexts (the engine as called)', (i) => diffWholeTexts(texts[i]![0], texts[i]![1], timeoutMs)],
  ['  @sanity makeDiff', (i) => makeDiff(texts[i]![0], texts[i]![1], deadline)],
  ['  @sanity cleanupSemantic', (i) => cleanupSemantic(raws[i]!)],
  ['  dmp-core diffMain', (i) => portDiffMain(texts[i]![0], texts[i]![1], Date.now() + timeoutMs)],
  ['  dmp-core cleanupSemantic', (i) => portCleanupSemantic(raws[i]!)],
  ['  keepSurrogatePairsWhole', (i) => keepSurrogatePairsWhole(segmentsOf[i]!)],
  ['result JSON (escapedJsonBytes)', (i) => escapedJsonBytes(results[i])],
];

const sizes = texts.map(([a, b]) => a.length + b.length);
console.log(`${diffType}: ${pairs.length} pair(s), ${Math.round(sizes.reduce((x, y) => x + y, 0) / pairs.length / 2 / 1024)} K chars per side on average, timeout ${timeoutMs} ms, ${rounds} rounds`);
console.log(
  markdownTable(
    ['stage', 'CPU ms per diff (median)', '(lowest round)'],
    stages.map(([name, each]) => [name, ...cpuPerDiff(each).map((ms) => ms.toFixed(2))]),
  ),
);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Known stages, by function name (@sanity's and dmp-core's) or file; checked from the innermost frame out. */
const PROFILE_STAGES: readonly (readonly [string, (frame: ProfileNode['callFrame']) => boolean])[] = [
  ['(garbage collector)', (f) => f.functionName === '(garbage collector)'],
  ['dmp bisect', (f) => f.functionName === 'bisect'],
  ['dmp half-match', (f) => /^(findHalfMatch|halfMatchI|halfMatchAt)$/.test(f.functionName)],
  ['dmp common prefix/suffix', (f) => /^(getCommonPrefix|getCommonSuffix|commonPrefix|commonSuffix|prefixLength|suffixLength)$/.test(f.functionName)],
  ['dmp cleanupMerge', (f) => f.functionName === 'cleanupMerge'],
  ['dmp semantic cleanup', (f) => /^(cleanupSemantic|cleanupSemanticLossless|diffCleanupSemanticScore|semanticScore|getCommonOverlap|commonOverlap)$/.test(f.functionName)],
  ['dmp surrogate adjustment', (f) => /^(adjustDiffForSurrogatePairs|deisolateChar)$/.test(f.functionName)],
  ['dmp diff, compute, code units (rest)', (f) => /^(diff|doDiff|computeDiff|diffMain|compute|bisectSplit|codeUnits)$/.test(f.functionName)],
  ['keepSurrogatePairsWhole', (f) => f.functionName === 'keepSurrogatePairsWhole'],
  ['checks (text length, changed span)', (f) => /^(checkTextLength|checkChangedSpan|commonPrefixLength|commonSuffixLength)$/.test(f.functionName)],
  ['result JSON (escapedJsonBytes, JSON.stringify)', (f) => f.functionName === 'escapedJsonBytes'],
  ['visible text', (f) => /src\/diff\/(visible-text|html-parse)\.|node_modules\/parse5\//.test(f.url)],
  ['decode', (f) => /src\/sniff\/|node_modules\/(@exodus|jschardet)\//.test(f.url)],
];

function profileBreakdown(cpuProfile: { nodes: ProfileNode[]; samples?: number[] }): string[][] {
  const parent = new Map<number, number>();
  for (const node of cpuProfile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(cpuProfile.nodes.map((node) => [node.id, node]));
  const stageOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const stage = PROFILE_STAGES.find(([, matches]) => matches(frame));
      if (stage !== undefined) return stage[0];
    }
    return 'other';
  };
  const counts = new Map<string, number>();
  const samples = cpuProfile.samples ?? [];
  const stageById = new Map<number, string>();
  for (const id of samples) {
    let stage = stageById.get(id);
    if (stage === undefined) stageById.set(id, (stage = stageOf(id)));
    counts.set(stage, (counts.get(stage) ?? 0) + 1);
  }
  return [...counts]
    .sort((x, y) => y[1] - x[1])
    .map(([stage, count]) => [stage, `${((100 * count) / samples.length).toFixed(1)} %`]);
}

if (profile) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  for (let round = 0; round < rounds; round += 1) for (const job of jobs) runJob(diffTypes, job);
  const { profile: cpuProfile } = await session.post('Profiler.stop');
  session.disconnect();
  console.log(`\nProfile of ${rounds} rounds of the whole job, by stage (innermost known frame):`);
  console.log(markdownTable(['stage', 'share of samples'], profileBreakdown(cpuProfile)));
}
