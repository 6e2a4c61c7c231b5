import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, ForbiddenSourceError } from '../../src/errors.ts';
import { validateSourceUrl } from '../../src/ingest/index.ts';

const guarded = { allowFileUrls: false, allowPrivateUpstreams: false };
const open = { allowFileUrls: true, allowPrivateUpstreams: true };

describe('validateSourceUrl', () => {
  it('accepts http and https URLs on public hosts', () => {
    assert.equal(validateSourceUrl('http://example.com/a?b=1', guarded, 'a').href, 'http://example.com/a?b=1');
    assert.equal(validateSourceUrl('https://93.184.215.14/', guarded, 'b').hostname, '93.184.215.14');
    assert.equal(validateSourceUrl('https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/', guarded, 'b').protocol, 'https:');
  });

  it('refuses malformed URLs and other schemes with BadRequestError naming the parameter', () => {
    for (const raw of ['not a url', '', '//example.com/', 'http://', 'ftp://example.com/', 'javascript:alert(1)', 'data:text/html,hi', 'gopher://x/']) {
      assert.throws(() => validateSourceUrl(raw, open, 'a'), (err: unknown) => {
        assert.ok(err instanceof BadRequestError, `${raw}: ${String(err)}`);
        assert.equal(err.details['param'], 'a');
        return true;
      });
    }
  });

  it('refuses credentials in the URL', () => {
    assert.throws(() => validateSourceUrl('http://user:pw@example.com/', guarded, 'a'), BadRequestError);
  });

  it('refuses file:// unless allowFileUrls, then accepts local paths only', () => {
    assert.throws(() => validateSourceUrl('file:///etc/passwd', guarded, 'a'), ForbiddenSourceError);
    assert.equal(validateSourceUrl('file:///tmp/x.html', { allowFileUrls: true, allowPrivateUpstreams: false }, 'a').pathname, '/tmp/x.html');
    assert.throws(() => validateSourceUrl('file://server/share/x.html', open, 'a'), BadRequestError);
  });

  it('refuses literal internal addresses with the guard on, in every spelling', () => {
    const internal = [
      'http://127.0.0.1/',
      'http://127.1.2.3:8080/',
      'http://2130706433/', // decimal 127.0.0.1
      'http://0x7f.0.0.1/', // hex
      'http://0177.0.0.1/', // octal
      'http://0.0.0.0/',
      'http://10.1.2.3/',
      'http://172.16.0.1/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
      'http://[::1]/',
      'http://[::]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://[fd00:ec2::254]/',
      'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of 169.254.169.254
      'http://localhost:8080/',
      'http://api.localhost/',
    ];
    for (const raw of internal) {
      assert.throws(() => validateSourceUrl(raw, guarded, 'a'), ForbiddenSourceError, raw);
      assert.doesNotThrow(() => validateSourceUrl(raw, open, 'a'), raw);
    }
  });

  it('lets an exempted test address through the guard', () => {
    assert.doesNotThrow(() => validateSourceUrl('http://127.0.0.1:1234/', { ...guarded, guardExemptAddresses: ['127.0.0.1'] }, 'a'));
    assert.throws(() => validateSourceUrl('http://127.0.0.2:1234/', { ...guarded, guardExemptAddresses: ['127.0.0.1'] }, 'a'), ForbiddenSourceError);
  });
});
