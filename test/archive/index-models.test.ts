import { describe, expect, it } from 'vitest';
import { IndexFormatError } from '../../src/archive/errors.js';
import { parsePackagesIndex } from '../../src/archive/packages.js';
import { binariesFor, builtFor, parseSourcesIndex } from '../../src/archive/sources.js';
import { OPENSTACK_BINARIES, openstackSource, renderPackagesParagraphs, renderSourcesParagraph } from '../fixtures/apt-archive.js';

function formatError(run: () => unknown): IndexFormatError {
  try {
    run();
  } catch (error) {
    if (error instanceof IndexFormatError) return error;
    throw error;
  }
  throw new Error('expected an IndexFormatError');
}

describe('Sources index', () => {
  it('reads a realistic cinder paragraph: binaries from Package-List', () => {
    const text = renderSourcesParagraph(openstackSource('cinder', '2:24.0.0-0ubuntu1'));
    expect(text).toContain('Package-List:\n cinder-api deb net optional arch=all\n');
    expect(text).toMatch(/Binary: cinder-api, cinder-backup, cinder-common, cinder-scheduler,\n cinder-volume, python3-cinder\n/);
    const [cinder, ...rest] = parseSourcesIndex(text, 'Sources');
    expect(rest).toEqual([]);
    expect(cinder).toMatchObject({ name: 'cinder', version: '2:24.0.0-0ubuntu1', directory: 'pool/main/c/cinder' });
    expect(cinder?.binaries).toEqual(['cinder-api', 'cinder-backup', 'cinder-common', 'cinder-scheduler', 'cinder-volume', 'python3-cinder']);
    expect(cinder?.packageList?.[5]).toEqual({ name: 'python3-cinder', type: 'deb', section: 'python', priority: 'optional', arch: ['all'] });
  });

  it('prefers Package-List over Binary when both are present', () => {
    const text = 'Package: foo\nVersion: 1.0-1\nBinary: stale-name\nPackage-List:\n foo deb misc optional arch=any\n foo-udeb udeb debian-installer optional arch=any\n';
    const [foo] = parseSourcesIndex(text);
    expect(foo?.binaries).toEqual(['foo', 'foo-udeb']);
    expect(foo && binariesFor(foo, 'amd64')).toEqual(['foo']);
  });

  it('falls back to Binary (comma list, wrapped over lines) without Package-List', () => {
    const text = renderSourcesParagraph(openstackSource('nova', '3:29.0.0-0ubuntu1', { packageList: false }));
    expect(text).not.toContain('Package-List');
    const [nova] = parseSourcesIndex(text);
    expect(nova?.binaries).toEqual([...OPENSTACK_BINARIES.nova]);
    expect(nova?.packageList).toBeUndefined();
    expect(nova && binariesFor(nova, 's390x')).toEqual([...OPENSTACK_BINARIES.nova]);
  });

  it('filters binaries by architecture using arch= of Package-List', () => {
    const text = [
      'Package: qemu',
      'Version: 1:8.2.2+ds-0ubuntu1',
      'Package-List:',
      ' qemu-system-x86 deb misc optional arch=amd64,i386',
      ' qemu-system-s390x deb misc optional arch=s390x',
      ' qemu-utils deb misc optional arch=any',
      ' qemu-system-data deb misc optional arch=all',
      ' qemu-block-extra deb misc optional arch=linux-any',
      ' qemu-guest-agent deb misc optional',
      '',
    ].join('\n');
    const [qemu] = parseSourcesIndex(text);
    if (!qemu) throw new Error('no paragraph');
    expect(binariesFor(qemu, 'amd64')).toEqual(['qemu-system-x86', 'qemu-utils', 'qemu-system-data', 'qemu-block-extra', 'qemu-guest-agent']);
    expect(binariesFor(qemu, 's390x')).toEqual(['qemu-system-s390x', 'qemu-utils', 'qemu-system-data', 'qemu-block-extra', 'qemu-guest-agent']);
    expect(builtFor({ name: 'x', type: 'deb', section: 's', priority: 'p', arch: ['any-arm64'] }, 'arm64')).toBe(true);
  });

  it('reads several paragraphs, including multiple versions of one source', () => {
    const text = [openstackSource('cinder', '2:24.0.0-0ubuntu1'), openstackSource('cinder', '2:24.1.0-0ubuntu1'), openstackSource('keystone', '2:25.0.0-0ubuntu1')]
      .map((source) => renderSourcesParagraph(source))
      .join('\n');
    expect(parseSourcesIndex(text).map((s) => `${s.name}=${s.version}`)).toEqual(['cinder=2:24.0.0-0ubuntu1', 'cinder=2:24.1.0-0ubuntu1', 'keystone=2:25.0.0-0ubuntu1']);
  });

  it('names the broken paragraph and its line', () => {
    const good = renderSourcesParagraph(openstackSource('glance', '2:28.0.0-0ubuntu1'));
    const noVersion = formatError(() => parseSourcesIndex(`${good}\nPackage: broken\nBinary: broken\n`, 'http://x/Sources.gz'));
    expect(noVersion.message).toMatch(/^http:\/\/x\/Sources\.gz, paragraph 2, line \d+: Sources paragraph has no Version field$/);
    expect(noVersion.details.paragraph).toBe(2);
    expect(formatError(() => parseSourcesIndex('Version: 1.0\nBinary: x\n')).message).toContain('no Package field');
    expect(formatError(() => parseSourcesIndex('Package: xx\nVersion: 1.0\n')).message).toContain('neither Package-List nor Binary');
    expect(formatError(() => parseSourcesIndex('Package: xx\nVersion: 1.0\nBinary:\n')).message).toContain('lists no binary packages');
    expect(formatError(() => parseSourcesIndex('Package: Bad_Name\nVersion: 1.0\nBinary: x\n')).message).toContain('invalid package name');
    expect(formatError(() => parseSourcesIndex('Package: xx\nVersion: :1.0\nBinary: xx\n')).message).toContain('epoch is not a number');
    expect(formatError(() => parseSourcesIndex('Package: xx\nVersion: 1.0\nBinary: ok, B@D\n')).message).toContain('invalid binary "B@D"');
    const badList = formatError(() => parseSourcesIndex('Package: xx\nVersion: 1.0\nPackage-List:\n xx deb\n'));
    expect(badList.message).toContain('malformed Package-List line "xx deb"');
    expect(badList.details.line).toBe(4);
    expect(formatError(() => parseSourcesIndex('Package: xx\nVersion: 1.0\n 2.0\nBinary: xx\n')).message).toContain('Version must be a single line');
  });
});

describe('Packages index', () => {
  it('reads realistic paragraphs; Source defaults to the binary itself', () => {
    const text = renderPackagesParagraphs(openstackSource('keystone', '2:25.0.0-0ubuntu1'), 'amd64').join('\n');
    expect(text).toContain('Description: keystone - keystone\n The keystone package');
    const packages = parsePackagesIndex(text, 'Packages');
    expect(packages.map((p) => p.name)).toEqual(['keystone', 'keystone-common', 'python3-keystone']);
    expect(packages[0]).toEqual({ name: 'keystone', version: '2:25.0.0-0ubuntu1', source: 'keystone', sourceVersion: '2:25.0.0-0ubuntu1', architecture: 'all' });
    expect(packages[2]).toMatchObject({ source: 'keystone', sourceVersion: '2:25.0.0-0ubuntu1' });
  });

  it('reads "Source: name (version)" of a binNMU', () => {
    const source = { name: 'sudo', version: '1.9.15p5-3ubuntu5', binaryVersion: '1.9.15p5-3ubuntu5+b1', architecture: 'any', binaries: ['sudo', 'sudo-ldap'] };
    const packages = parsePackagesIndex(renderPackagesParagraphs(source, 'arm64').join('\n'));
    expect(packages).toEqual([
      { name: 'sudo', version: '1.9.15p5-3ubuntu5+b1', source: 'sudo', sourceVersion: '1.9.15p5-3ubuntu5', architecture: 'arm64' },
      { name: 'sudo-ldap', version: '1.9.15p5-3ubuntu5+b1', source: 'sudo', sourceVersion: '1.9.15p5-3ubuntu5', architecture: 'arm64' },
    ]);
  });

  it('names the broken paragraph', () => {
    expect(formatError(() => parsePackagesIndex('Package: a1\nVersion: 1\nArchitecture: all\n\nPackage: b1\nVersion: 1\n')).message).toBe(
      'paragraph 2, line 5: Packages paragraph has no Architecture field',
    );
    expect(formatError(() => parsePackagesIndex('Package: a1\nVersion: 1\nArchitecture: all\nSource: x (1) (2)\n')).message).toContain('malformed Source field');
    expect(formatError(() => parsePackagesIndex('Package: a1\nArchitecture: all\n')).message).toContain('no Version field');
  });
});
