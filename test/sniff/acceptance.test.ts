import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusalReason, undiffableContentError } from '../../src/sniff/index.ts';
import type { ContentTypeInfo } from '../../src/sniff/index.ts';
import { UndiffableContentError } from '../../src/errors.ts';

const pdf: ContentTypeInfo = { media_type: 'application/pdf', source: 'sniffed', is_text: false };
const html: ContentTypeInfo = { media_type: 'text/html', source: 'both', charset: 'utf-8', is_text: true };
const json: ContentTypeInfo = { media_type: 'application/json', source: 'header', is_text: true };
const unknown: ContentTypeInfo = { media_type: 'unknown', source: 'none', is_text: true };

describe('refusalReason', () => {
  it('says what the side is and what is missing', () => {
    assert.equal(refusalReason('text', pdf, 'normal'), 'application/pdf (sniffed) is not text');
    assert.equal(refusalReason('html', json, 'normal'), 'application/json (declared) is not HTML');
  });
  it('accepts what the family accepts', () => {
    assert.equal(refusalReason('text', json, 'normal'), null);
    assert.equal(refusalReason('html', html, 'nocheck'), null);
    assert.equal(refusalReason('html', unknown, 'nosniff'), null);
  });
  it('refuses nothing under ignore, and nothing for length-like diffs', () => {
    for (const accepts of ['any', 'text', 'html'] as const) assert.equal(refusalReason(accepts, pdf, 'ignore'), null);
    for (const option of ['normal', 'nocheck', 'nosniff'] as const) assert.equal(refusalReason('any', pdf, option), null);
  });
});

describe('undiffableContentError', () => {
  it('names the refused side and the other side', () => {
    const err = undiffableContentError('html_source_dmp', 'text', { a: pdf, b: html }, 'normal');
    assert.ok(err instanceof UndiffableContentError);
    assert.equal(err.type, 'UNDIFFABLE_CONTENT');
    assert.equal(err.message, '`a` is application/pdf (sniffed), `b` is text/html; html_source_dmp diffs text only');
    assert.deepEqual(err.details, { a_content_type: pdf, b_content_type: html });
  });

  it('names both sides when both are refused', () => {
    const err = undiffableContentError('html_token', 'html', { a: json, b: pdf }, 'normal');
    assert.equal(err.message, '`a` is application/json (declared), `b` is application/pdf (sniffed); html_token diffs HTML only');
  });

  it('leaves out a side that is not known yet', () => {
    const err = undiffableContentError('links', 'html', { b: pdf }, 'normal');
    assert.equal(err.message, '`b` is application/pdf (sniffed); links diffs HTML only');
    assert.deepEqual(err.details, { b_content_type: pdf });
  });
});
