// The README is part of the product: its configuration table and error table must match the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { settings } from '../src/config.ts';
import { diffTypes } from '../src/diff/index.ts';
import { ERROR_TYPES } from '../src/errors.ts';
import { statusByErrorType } from '../src/http/error-map.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.notEqual(start, -1, `README has a "${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

describe('README', () => {
  it('starts with the two set-up commands: start the service and run the tests, installs included', () => {
    const quickStart = section('Quick start');
    assert.match(quickStart, /npm ci && npm start/);
    assert.match(quickStart, /npm ci && npm test/);
  });

  it('.ci/run runs exactly the test command the README gives', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    assert.match(ci, /^npm ci\b/m);
    assert.match(ci, /^npm test$/m);
  });

  it('lists every setting with its default and meaning, and nothing else', () => {
    const rows = tableRows(section('Configuration'));
    const documented = new Map(rows.map(([name, defaultText, meaning]) => [name!.replaceAll('`', ''), { defaultText: defaultText!.replaceAll('`', ''), meaning }]));
    const declared = Object.values(settings) as { env: string; default: unknown; defaultText?: string; description: string }[];
    assert.deepEqual([...documented.keys()].sort(), declared.map((s) => s.env).sort());
    for (const spec of declared) {
      const row = documented.get(spec.env)!;
      assert.equal(row.defaultText, spec.defaultText ?? String(spec.default), `default of ${spec.env}`);
      assert.equal(row.meaning, spec.description, `meaning of ${spec.env}`);
    }
  });

  it('documents every error type with its status', () => {
    const errors = section('API');
    for (const type of ERROR_TYPES) {
      assert.match(errors, new RegExp(`\\| ${statusByErrorType[type]} \\| \`${type}\` \\|`), `${type} documented as ${statusByErrorType[type]}`);
    }
  });

  it('documents every diff type', () => {
    const api = section('API');
    for (const name of diffTypes.keys()) assert.match(api, new RegExp(`\\| \`${name}\` \\|`), name);
  });
});
