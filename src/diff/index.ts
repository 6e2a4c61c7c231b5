// The registry of diff types: name → definition. The order is the one `GET /` lists.
import { identicalBytesDiff, lengthDiff } from './bytes-diffs.ts';
import { htmlTokenDiff } from './html-token/index.ts';
import { linksDiff, linksJsonDiff } from './links/index.ts';
import { textDmpDiff } from './pdf-text/text-dmp.ts';
import { htmlSourceDmpDiff, htmlTextDmpDiff, sideBySideTextDiff } from './text-diffs.ts';
import type { DiffDefinition } from './types.ts';

// `<any, any>`: some diff types answer asynchronously (text_dmp and side_by_side_text on PDFs).
export const diffTypes: ReadonlyMap<string, DiffDefinition<any, any>> = new Map<string, DiffDefinition<any, any>>(
  [lengthDiff, identicalBytesDiff, sideBySideTextDiff, linksDiff, linksJsonDiff, htmlTextDmpDiff, htmlSourceDmpDiff, htmlTokenDiff, textDmpDiff].map(
    (definition) => [definition.name, definition],
  ),
);

export type { DiffDefinition, DiffParams, DiffResult, DiffSettings, DiffSide } from './types.ts';
