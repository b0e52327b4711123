// `heliostat rocks for SOURCE...`: the rocks that install a binary package built from these
// source packages, per the apt indices of the release's series (plus PPAs and pocket).
import type { Command } from 'commander';
import { getSeries } from '../../catalog/releases.js';
import { aptSourcesForTarget } from '../../archive/apt-sources.js';
import { IndexFetcher } from '../../archive/fetch-index.js';
import { AptResolver } from '../../archive/resolve.js';
import { UsageError } from '../../errors.js';
import { loadBranchRocks } from '../../rocks/branch-rocks.js';
import { preferConsolidated, rocksUsingPackages } from '../../rocks/select.js';
import { openUpstream } from '../context.js';
import type { CliEnv } from '../env.js';
import { collect, parseTargetFlags, type TargetFlags } from '../flags.js';
import { note, printRows } from '../output.js';
import type { GlobalFlags } from '../settings.js';

const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]{1,99}$/;

export function registerRocksFor(rocks: Command, env: CliEnv): void {
  rocks
    .command('for')
    .description('list the rocks that install binaries of these source packages (components)')
    .argument('<source...>', 'source package names, e.g. cinder')
    .requiredOption('--release <release>', 'OpenStack release (codename or number)')
    .option('--series <series>', 'Ubuntu series (default: the release\'s rock series)')
    .option('--ppa <ppa>', 'also read this PPA: ppa:<owner>/<name>[:<priority>] (repeatable)', collect)
    .option('--pocket <pocket>', 'UCA pocket: updates or proposed')
    .option('--consolidated', 'prefer the <component>-consolidated rock when one exists')
    .option('--arch <arch>', 'architecture', 'amd64')
    .option('--json', 'print JSON')
    .action(async (sources: string[], flags: GlobalFlags & TargetFlags & { consolidated?: boolean; arch: string; json?: boolean }, cmd: Command) => {
      for (const source of sources) {
        if (!SOURCE_NAME.test(source)) throw new UsageError(`invalid source package name ${JSON.stringify(source)}`);
      }
      if (!/^[a-z0-9]+$/.test(flags.arch)) throw new UsageError(`invalid architecture ${JSON.stringify(flags.arch)}`);
      const target = parseTargetFlags(flags);
      const series = target.series ?? getSeries(target.release.defaultSeries);
      const settings = await env.settings(cmd.optsWithGlobals());
      const aptSources = aptSourcesForTarget({ ...target, series, archives: settings.archives });
      const out = env.output(flags.json);
      const fetcher = new IndexFetcher({
        cacheDir: settings.cacheDir,
        offline: settings.offline,
        log: settings.verbose ? (e) => e.type === 'request' && env.stderr.write(`http GET ${e.url}${e.conditional ? ' (conditional)' : ''}\n`) : undefined,
      });
      const resolver = new AptResolver({ fetcher, sources: aptSources, series: series.name, arch: flags.arch });
      const [set, binaryLists] = await Promise.all([
        loadBranchRocks(openUpstream(settings, env.stderr), target.release),
        Promise.all(sources.map((s) => resolver.binariesOf(s))),
      ]);
      const binaries = new Set(binaryLists.flat());
      const parsed = set.rocks.flatMap((r) => (r.document ? [{ name: r.name, packages: r.document.overlayPackages, imageName: r.document.name }] : []));
      let matches = rocksUsingPackages(parsed, binaries);
      if (flags.consolidated) matches = preferConsolidated(matches, sources);
      if (matches.length === 0) note(out, `no rock on ${set.branch} installs a binary of ${sources.join(', ')}`);
      const imageName = new Map(parsed.map((r) => [r.name, r.imageName]));
      printRows(
        out,
        matches,
        [
          { header: 'rock', value: (m) => m.name },
          { header: 'image', value: (m) => imageName.get(m.name) ?? '' },
          { header: 'packages', value: (m) => m.packages.join(', ') },
        ],
        (m) => ({ name: m.name, imageName: imageName.get(m.name), packages: m.packages, branch: set.branch, commit: set.commit }),
      );
    });
}
