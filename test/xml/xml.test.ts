import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SaveImageError } from '../../lib/errors.js';
import { compareCpu } from '../../lib/xml/cpu.js';
import { assertSameAbi, domainAbi } from '../../lib/xml/domain.js';
import { parseXml, rootElementName } from '../../lib/xml/parse.js';
import { redactSecrets } from '../../lib/xml/redact.js';
import { readDump } from '../helpers/samples.js';

const test = suite('xml');
const src = { what: 'domain XML', offset: 92 };

test('parses a tree with attributes and text', () => {
  const tree = parseXml(`<domain type='kvm'><name> x </name><![CDATA[c]]></domain>`, src);
  assert.is(tree.name, 'domain');
  assert.is(tree.attributes.type, 'kvm');
  assert.is(tree.children[0]!.text, ' x ');
  assert.is(tree.text, 'c');
});

const MALFORMED = [
  { name: 'unclosed tag', xml: '<domain>' },
  { name: 'two roots', xml: '<a/><b/>' },
  { name: 'empty', xml: '' },
  { name: 'billion laughs', xml: `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><domain>&lol9;</domain>` },
  { name: 'external entity', xml: `<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domain>&x;</domain>` },
];

for (const c of MALFORMED) {
  test(`ERR_BAD_XML for ${c.name}, naming block and offset`, () => {
    const started = performance.now();
    try {
      parseXml(c.xml, src);
      assert.unreachable();
    } catch (error) {
      assert.ok(SaveImageError.is(error));
      assert.is(error.code, 'ERR_BAD_XML');
      assert.is(error.offset, 92);
      assert.match(error.message, 'domain XML at offset 92');
    }
    assert.ok(performance.now() - started < 1000);
  });
}

test('root element name, or null', () => {
  assert.is(rootElementName('<?xml version="1.0"?><cookie/>'), 'cookie');
  assert.is(rootElementName('nope'), null);
});

const REDACTIONS = [
  { name: 'single quotes', xml: `<g type='vnc' passwd='s3cret'/>`, out: `<g type='vnc'/>` },
  { name: 'double quotes, spaces around =', xml: `<g passwd = "a'b" port="1"/>`, out: `<g port="1"/>` },
  { name: 'newline before the attribute', xml: `<g type='vnc'\n   passwd='x'>t</g>`, out: `<g type='vnc'>t</g>` },
  { name: 'two secrets', xml: `<d><g passwd='1'/><g passwd='2' a='b'/></d>`, out: `<d><g/><g a='b'/></d>` },
  { name: 'entities in the value', xml: `<g passwd='a&amp;b&apos;'/>`, out: `<g/>` },
  { name: 'nothing to hide', xml: `<g type='vnc'/>`, out: `<g type='vnc'/>` },
  { name: 'passwd as text is kept', xml: `<g>passwd='x'</g>`, out: `<g>passwd='x'</g>` },
];

for (const c of REDACTIONS) {
  test(`redacts secrets: ${c.name}`, () => assert.is(redactSecrets(c.xml), c.out));
}

test('domain ABI: memory units are compared in bytes', () => {
  const a = domainAbi(parseXml(`<domain><name>n</name><uuid>ABC</uuid><memory unit='KiB'>16384</memory><vcpu>2</vcpu></domain>`, src));
  const b = domainAbi(parseXml(`<domain><name>n</name><uuid>abc</uuid><memory unit='MiB'>16</memory><vcpu placement='static'>2</vcpu></domain>`, src));
  assert.equal(a, b);
  assert.equal(a, { name: 'n', uuid: 'abc', maxMemoryBytes: 16 * 1024 * 1024, vcpus: 2 });
});

const ABI_CHANGES = [
  { field: 'domain name', xml: `<domain><name>m</name><uuid>abc</uuid><memory>16384</memory><vcpu>2</vcpu></domain>` },
  { field: 'domain UUID', xml: `<domain><name>n</name><uuid>abd</uuid><memory>16384</memory><vcpu>2</vcpu></domain>` },
  { field: 'maximum memory', xml: `<domain><name>n</name><uuid>abc</uuid><memory>16385</memory><vcpu>2</vcpu></domain>` },
  { field: 'vCPU count', xml: `<domain><name>n</name><uuid>abc</uuid><memory>16384</memory><vcpu>3</vcpu></domain>` },
];
const STORED = domainAbi(parseXml(`<domain><name>n</name><uuid>abc</uuid><memory>16384</memory><vcpu>2</vcpu></domain>`, src));

for (const c of ABI_CHANGES) {
  test(`ERR_ABI_MISMATCH names the ${c.field}`, () => {
    try {
      assertSameAbi(STORED, domainAbi(parseXml(c.xml, src)));
      assert.unreachable();
    } catch (error) {
      assert.is((error as SaveImageError).code, 'ERR_ABI_MISMATCH');
      assert.match((error as Error).message, c.field);
    }
  });
}

test('cpu: the libvirt 9.0 KVM guest gained features QEMU added (not portable)', () => {
  const domain = parseXml(readDump('libvirt-9.0/dumps/kvm-raw', 'embedded-xml.txt').toString(), src);
  const cookie = parseXml(readDump('libvirt-9.0/dumps/kvm-raw', 'embedded-cookie.txt').toString(), src);
  const c = compareCpu(domain, cookie);
  assert.is(c.portable, false);
  assert.is(c.checkChanged, true);
  assert.is(c.modelChanged, false);
  assert.equal(c.added.map((f) => `${f.name}:${f.policy}`), ['pni:disable', 'x2apic:require', 'hypervisor:require', 'lahf_lm:require', 'svm:disable']);
  assert.equal(c.removed, []);
});

test('cpu: the libvirt 11.3 TCG guest started what it defined (portable)', () => {
  const domain = parseXml(readDump('libvirt-11.3/dumps/zstd', 'embedded-xml.txt').toString(), src);
  const cookie = parseXml(readDump('libvirt-11.3/dumps/zstd', 'embedded-cookie.txt').toString(), src);
  const c = compareCpu(domain, cookie);
  assert.equal([c.portable, c.added, c.removed, c.changed], [true, [], [], []]);
});

test('cpu: a cookie without CPU (libvirt 9.0 TCG guest) is portable', () => {
  const domain = parseXml(readDump('libvirt-9.0/dumps/raw', 'embedded-xml.txt').toString(), src);
  const cookie = parseXml(readDump('libvirt-9.0/dumps/raw', 'embedded-cookie.txt').toString(), src);
  const c = compareCpu(domain, cookie);
  assert.is(c.started, null);
  assert.is(c.portable, true);
});

test('cpu: a changed policy and a removed feature', () => {
  const domain = parseXml(`<domain><cpu><model>m</model><feature policy='require' name='a'/><feature name='b'/></cpu></domain>`, src);
  const cookie = parseXml(`<cookie><cpu><model>m</model><feature policy='disable' name='a'/></cpu></cookie>`, src);
  const c = compareCpu(domain, cookie);
  assert.equal(c.changed, [{ name: 'a', from: 'require', to: 'disable' }]);
  assert.equal(c.removed, [{ name: 'b', policy: 'require' }]);
  assert.is(c.portable, false);
});

test.run();
