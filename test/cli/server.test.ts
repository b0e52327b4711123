// `build`, `reconcile` and `attach` with --server, through the built binary, against the API
// mounted over the fake controller: the same progress lines, output and exit codes as local runs.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { Job } from '../../src/controller/types.js';
import { FakeController } from '../controller/http/fake-controller.js';
import { WRITE_TOKEN, startTestApi, type TestApi } from '../controller/http/harness.js';
import { heliostat } from './helpers.js';

let api: TestApi;
let controller: FakeController;
const env = { HELIOSTAT_TOKEN: WRITE_TOKEN };

async function subscribed(jobId: string): Promise<void> {
  while (controller.subscriberCount(jobId) === 0) await sleep(5);
}

/** Plays a build on the fake controller once the CLI follows the job. */
function script(result: 'success' | 'fail'): void {
  controller.onSubmit = ([job]) => {
    if (!job) return;
    void (async () => {
      await subscribed(job.id);
      const c = controller;
      c.update(job.id, { state: 'running', startedAt: new Date().toISOString() });
      c.rock(job.id, { rock: 'cinder-api', state: 'building' });
      c.log(job.id, 'cinder-api', ['Packing rock cinder-api']);
      c.rock(job.id, { rock: 'cinder-volume', state: 'reused' });
      await sleep(30);
      const end: Partial<Job> =
        result === 'success'
          ? { state: 'succeeded', result: 'success', buildId: '20250101T000000Z', summary: { built: ['cinder-api'], reused: ['cinder-volume'], failed: [], skipped: [] } }
          : { state: 'failed', result: 'fail', buildId: '20250101T000000Z', summary: { built: [], reused: ['cinder-volume'], failed: [{ rock: 'cinder-api', failureClass: 'build' }], skipped: [] } };
      c.rock(job.id, result === 'success' ? { rock: 'cinder-api', state: 'built', durationMs: 1500 } : { rock: 'cinder-api', state: 'failed', failureClass: 'build', durationMs: 2500 });
      c.update(job.id, { ...end, finishedAt: new Date().toISOString() });
    })();
  };
}

beforeAll(async () => {
  controller = new FakeController();
  api = await startTestApi({ controller });
});
afterAll(() => api.close());
beforeEach(() => {
  controller.calls.length = 0;
});

describe('heliostat build --server', () => {
  it('submits, prints the progress lines of a local build, and exits 0 on success', async () => {
    script('success');
    const run = await heliostat(['build', '--release', 'caracal', '--component', 'cinder', '--server', api.url], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^submitted job job-\d+ to http:\/\/127\.0\.0\.1:\d+$/m);
    expect(run.stderr).toMatch(/^building cinder-api\ncinder-volume: reused\ncinder-api: built in 1\.5s$/m);
    expect(run.stderr).not.toContain('Packing rock');
    expect(run.stdout).toMatch(/^ROCK +OUTCOME +CLASS +SECONDS$/m);
    expect(run.stdout).toMatch(/^build 20250101T000000Z: success \(job job-\d+ on http:\/\/127\.0\.0\.1:\d+\)$/m);
    const submit = controller.calls.find((c) => c.method === 'submit');
    expect(submit?.args).toEqual([[{ release: '2024.1', train: 'reference', components: ['cinder'] }], 'api', 'ci']);
  });

  it('exits 1 on a failed build, with --json and -v log lines', async () => {
    script('fail');
    const run = await heliostat(['-v', 'build', '--release', '2024.1', '--train', 'fix', '--ppa', 'ppa:team/fix', '--suffix', 'fix1', '--server', api.url, '--json'], { env });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^cinder-api: failed \(build\) after 2\.5s$/m);
    expect(run.stderr).toMatch(/^cinder-api\| Packing rock cinder-api$/m);
    expect(JSON.parse(run.stdout)).toMatchObject({ train: 'fix', result: 'fail', failed: [{ rock: 'cinder-api', failureClass: 'build' }], reused: ['cinder-volume'], state: 'failed' });
    expect(controller.calls.find((c) => c.method === 'submit')?.args[0]).toEqual([{ release: '2024.1', train: 'fix', ppas: ['ppa:team/fix'], suffix: 'fix1' }]);
  });

  it('needs HELIOSTAT_TOKEN and submits nothing without it', async () => {
    const run = await heliostat(['build', '--release', 'caracal', '--server', api.url], { env: {} });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/set HELIOSTAT_TOKEN to a write token of the controller/);
    expect(controller.mutatingCalls()).toEqual([]);
  });

  it('reports a refused token as a failure', async () => {
    const run = await heliostat(['build', '--release', 'caracal', '--server', api.url], { env: { HELIOSTAT_TOKEN: 'wrong' } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/the controller refused POST \/api\/v1\/builds: the bearer token is not valid/);
    expect(run.stderr).not.toContain('wrong');
  });

  it('reports a request the controller refuses as a usage error', async () => {
    controller.failNext = new UsageError('release 2024.1 has no rocks for component nothing');
    const run = await heliostat(['build', '--release', 'caracal', '--component', 'nothing', '--server', api.url], { env });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/heliostat: error: the controller refused POST \/api\/v1\/builds: release 2024\.1 has no rocks/);
  });

  it('refuses options that only mean something locally', async () => {
    const run = await heliostat(['build', '--release', 'caracal', '--publish', '--jobs', '4', '--server', api.url], { env });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--jobs, --publish are not used with --server/);
  });

  it('refuses a server URL with credentials', async () => {
    const run = await heliostat(['build', '--release', 'caracal', '--server', 'http://u:p@127.0.0.1:1'], { env });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/without credentials/);
  });
});

describe('heliostat reconcile and attach --server', () => {
  it('reconcile prints the actions like a local reconcile', async () => {
    controller.reconcileResult = {
      actions: [{ kind: 'attach', app: 'cinder', resource: 'cinder-api-image', containers: ['cinder-api'], to: { ref: 'reg/cinder-api@sha256:1', digest: 'sha256:1' }, why: 'train reference wants 20250101T000000Z' }],
      problems: ['nova: no pods'],
    };
    const run = await heliostat(['reconcile', '--dry-run', '--server', api.url], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^would attach +cinder +cinder-api-image +reg\/cinder-api@sha256:1 +train reference wants/m);
    expect(run.stderr).toMatch(/^warning: nova: no pods$/m);
    expect(controller.calls.find((c) => c.method === 'reconcile')?.args).toEqual([{ dryRun: true }, 'ci']);
  });

  it('reconcile exits 1 when the controller rolled an application back, and --json keeps the whole result', async () => {
    controller.reconcileResult = { actions: [], problems: [], report: { apps: [{ app: 'cinder', resources: ['cinder-api-image'], result: 'rolled-back', reason: 'pods not ready' }], held: [], attaches: 1 } };
    const run = await heliostat(['reconcile', '--json', '--server', api.url], { env });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ dryRun: false, report: { attaches: 1, apps: [{ app: 'cinder', result: 'rolled-back' }] } });
  });

  it('attach asks the controller to attach the build, whatever its configuration attaches', async () => {
    const run = await heliostat(['attach', 'fix/caracal/noble/20250101T000000Z', '--server', api.url], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(`attaching fix/2024.1/noble/20250101T000000Z (fix/2024.1/noble/20250101T000000Z) on ${api.url}; its reconcile pass has started`);
    expect(controller.calls.filter((c) => c.method === 'attach').at(-1)?.args).toEqual(['fix/2024.1/noble/20250101T000000Z', 'ci']);
    const json = await heliostat(['attach', 'fix/caracal/noble/latest', '--json', '--server', api.url], { env });
    expect(JSON.parse(json.stdout)).toEqual({ ref: 'fix/2024.1/noble/latest', train: 'fix', release: '2024.1', series: 'noble', buildId: '20250101T000000Z', server: api.url });
  });

  it('attach passes the controller\'s refusal on as a usage error', async () => {
    controller.failNext = new UsageError('cannot attach fix/2024.1/noble/20250101T000000Z: its result is fail');
    const run = await heliostat(['attach', 'fix/caracal/noble/20250101T000000Z', '--server', api.url], { env });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/its result is fail/);
  });

  it('attach refuses local-only options, and changes nothing', async () => {
    for (const flag of [['--app', 'cinder'], ['--dry-run'], ['--force']]) {
      const run = await heliostat(['attach', 'fix/caracal/noble/latest', ...flag, '--server', api.url], { env });
      expect(run.exitCode, flag.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/not used with --server/);
    }
    expect(controller.mutatingCalls()).toEqual([]);
  });

  it('detach names the series and says what the model returns to', async () => {
    let run = await heliostat(['detach', 'fix/caracal/noble', '--server', api.url], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(`detached fix/2024.1/noble on ${api.url}; its reconcile pass restores the original images`);
    expect(controller.calls.filter((c) => c.method === 'detach').at(-1)?.args).toEqual(['fix/2024.1/noble', 'ci']);
    run = await heliostat(['detach', 'fix', '--server', api.url], { env });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/TRAIN\/RELEASE\/SERIES/);
  });
});

describe('the client', () => {
  it('parses event streams split anywhere, with CRLF, comments and multi-line data', async () => {
    const { parseEventStream } = await import('../../src/cli/server-client.js');
    const text = ': hello\r\nretry: 3000\r\n\r\nid: 1\r\nevent: job\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: heartbeat\n\nevent: end\ndata: {}\n\n';
    const bytes = new TextEncoder().encode(text);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 3) yield await Promise.resolve(bytes.slice(i, i + 3));
    }
    const events = [];
    for await (const event of parseEventStream(chunks())) events.push(event);
    expect(events).toEqual([
      { event: 'job', data: '{"a":\n1}', id: '1' },
      { event: 'end', data: '{}' },
    ]);
  });

  it('follows a job across a broken stream', async () => {
    const { createServer } = await import('node:http');
    const { ServerClient } = await import('../../src/cli/server-client.js');
    const job = (state: string, rocks: unknown[]) => JSON.stringify({ id: 'j1', state, request: { train: 'reference', release: '2024.1', series: 'noble' }, rocks, ...(state === 'succeeded' ? { result: 'success' } : {}) });
    let connections = 0;
    const server = createServer((_req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (connections === 1) res.end(`event: job\ndata: ${job('running', [])}\n\nevent: rock\ndata: {"jobId":"j1","rock":{"rock":"a","state":"building"}}\n\n`);
      else res.end(`event: job\ndata: ${job('succeeded', [{ rock: 'a', state: 'built', durationMs: 1 }])}\n\nevent: end\ndata: {"jobId":"j1","state":"succeeded"}\n\n`);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const seen: string[] = [];
    const final = await new ServerClient(new URL(`http://127.0.0.1:${port}/`), undefined).follow('j1', (e) => seen.push(e.type === 'job' ? `job:${e.job.state}` : e.type === 'rock' ? `rock:${e.rock.state}` : 'log'));
    server.close();
    expect(final).toMatchObject({ state: 'succeeded', result: 'success' });
    expect(seen).toEqual(['job:running', 'rock:building', 'job:succeeded']);
    expect(connections).toBe(2);
  });
});
