// The persisted job queue: what a restart finds (queued jobs resumed, running ones interrupted),
// single flight per train/release/series, and a damaged state file moved aside rather than lost.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../src/controller/queue.js';
import type { Job } from '../../src/controller/types.js';

let root: string;
const now = () => new Date('2026-11-02T10:00:00Z');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-queue-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function job(id: string, state: Job['state'], train = 'fix'): Job {
  return { id, request: { release: '2024.1', series: 'noble', train }, trigger: 'api', state, createdAt: now().toISOString(), rocks: state === 'running' ? [{ rock: 'cinder-api', state: 'building' }, { rock: 'cinder-volume', state: 'built' }] : [] };
}

describe('JobQueue', () => {
  it('resumes queued jobs and marks running ones interrupted after a restart', async () => {
    const path = join(root, 'a', 'jobs.json');
    const before = new JobQueue(path, now);
    before.add({ job: job('1', 'succeeded'), actor: 'ops' });
    before.add({ job: job('2', 'running'), actor: 'ops', observation: { head: 'abc', sources: { u: 'v' } } });
    before.add({ job: job('3', 'queued'), actor: 'schedule' });
    await before.save();

    const after = new JobQueue(path, now);
    const { interrupted, resumed } = await after.load();
    expect(interrupted.map((j) => j.id)).toEqual(['2']);
    expect(resumed.map((j) => j.id)).toEqual(['3']);
    expect(after.get('2')?.job).toMatchObject({ state: 'interrupted', finishedAt: now().toISOString(), error: expect.stringMatching(/nothing of it was published/) as string });
    expect(after.get('2')?.job.rocks).toEqual([{ rock: 'cinder-api', state: 'skipped' }, { rock: 'cinder-volume', state: 'built' }]);
    expect(after.get('2')?.observation).toEqual({ head: 'abc', sources: { u: 'v' } });
    expect(after.get('3')?.actor).toBe('schedule');
    // The interruption is on disk at once: a second crash cannot bring the job back as running.
    const again = new JobQueue(path, now);
    expect((await again.load()).interrupted).toEqual([]);
    expect(again.list().map((j) => `${j.id}:${j.state}`)).toEqual(['3:queued', '2:interrupted', '1:succeeded']);
  });

  it('starts one job per train/release/series at a time, oldest first', () => {
    const q = new JobQueue(join(root, 'b', 'jobs.json'), now);
    q.add({ job: job('1', 'running', 'fix') });
    q.add({ job: job('2', 'queued', 'fix') });
    q.add({ job: job('3', 'queued', 'other') });
    expect(q.nextRunnable()?.id).toBe('3');
    expect(q.hasActive('fix/2024.1/noble')).toBe(true);
    expect(q.hasActive('third/2024.1/noble')).toBe(false);
    expect(q.list({ state: 'queued' }).map((j) => j.id)).toEqual(['3', '2']);
    expect(q.list({ train: 'fix', limit: 1 }).map((j) => j.id)).toEqual(['2']);
  });

  it('moves an unreadable state file aside and says so', async () => {
    const dir = join(root, 'c');
    const path = join(dir, 'jobs.json');
    const q = new JobQueue(path, now);
    await q.save();
    await writeFile(path, '{"schema": 1, "jobs": [{"job": "not a job"}]}');
    await expect(new JobQueue(path, now).load()).rejects.toThrow(/was unreadable; moved to .*jobs\.json\.corrupt-\d+/);
    const files = await readdir(dir);
    expect(files.filter((f) => f.startsWith('jobs.json.corrupt-'))).toHaveLength(1);
    expect(await readFile(join(dir, files.find((f) => f.includes('corrupt')) ?? ''), 'utf8')).toContain('not a job');
  });
});
