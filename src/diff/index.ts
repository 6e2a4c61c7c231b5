// The registry of diff types: name → definition. The order is the one `GET /` lists.
import { identicalBytesDiff, lengthDiff } from './bytes-diffs.ts';
import { htmlTokenDiff } from './html-token/index.ts';
import { linksDiff, linksJsonDiff } from './links/index.ts';
import { htmlSourceDmpDiff, htmlTextDmpDiff, sideBySideTextDiff } from './text-diffs.ts';
import type { DiffDefinition } from './types.ts';

export const diffTypes: ReadonlyMap<string, DiffDefinition<any>> = new Map<string, DiffDefinition<any>>(
  [lengthDiff, identicalBytesDiff, sideBySideTextDiff, linksDiff, linksJsonDiff, htmlTextDmpDiff, htmlSourceDmpDiff, htmlTokenDiff].map(
    (definition) => [definition.name, definition],
  ),
);

export type { DiffDefinition, DiffParams, DiffSettings, DiffSide } from './types.ts';
