// The Debian architecture name of the machine heliostat runs on (what rockcraft builds for).
const DEBIAN_ARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  s390x: 's390x',
  ppc64: 'ppc64el',
  riscv64: 'riscv64',
};

export function hostDebianArch(arch: NodeJS.Architecture = process.arch): string {
  const name = DEBIAN_ARCH[arch];
  if (!name) throw new Error(`unsupported build architecture ${arch}`);
  return name;
}
