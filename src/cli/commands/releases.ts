// `heliostat releases`: the release catalog.
import type { Command } from 'commander';
import { RELEASES, seriesFor } from '../../catalog/releases.js';
import { printRows } from '../output.js';
import type { CliEnv } from '../env.js';

export function registerReleases(program: Command, env: CliEnv): void {
  program
    .command('releases')
    .description('list the OpenStack releases heliostat builds, with their series, UCA pockets and rocks branch')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const out = env.output(opts.json);
      printRows(
        out,
        RELEASES,
        [
          { header: 'release', value: (r) => r.codename },
          { header: 'number', value: (r) => r.number },
          { header: 'native series', value: (r) => r.nativeSeries },
          { header: 'uca', value: (r) => r.ucaSeries.map((s) => `${s}-updates/${r.codename}`).join(' ') },
          { header: 'build series', value: (r) => seriesFor(r).join(',') },
          { header: 'rocks branch', value: (r) => (r.branchClamped ? `${r.rocksBranch} (borrowed)` : r.rocksBranch) },
          { header: 'sunbeam channel', value: (r) => (r.sunbeamTrack ? `${r.sunbeamTrack}/<risk>` : '-') },
        ],
        (r) => ({
          codename: r.codename,
          number: r.number,
          nativeSeries: r.nativeSeries,
          uca: r.ucaSeries.map((s) => ({ series: s, pockets: [`${s}-updates/${r.codename}`, `${s}-proposed/${r.codename}`] })),
          buildSeries: seriesFor(r),
          defaultSeries: r.defaultSeries,
          rocksBranch: r.rocksBranch,
          branchBorrowed: r.branchClamped,
          ovn: r.ovn,
          sunbeamChannel: r.sunbeamTrack ? `${r.sunbeamTrack}/<risk>` : null,
        }),
      );
    });
}
