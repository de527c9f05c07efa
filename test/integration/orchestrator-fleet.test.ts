import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv, KEY_PREFIX, SCHEDULED_EVENT, startHarness, type Harness } from '../helpers/orchestrator-harness.js';

/**
 * A fleet's hourly run against the built bundle and the ECS stand-in: 200 targets, of which 180 are done for
 * today (a fresh manifest in S3), 15 are due on running services (two targets per service: the agent's two
 * sessions per container) and 5 are due on services with no task. The stand-in throttles 30 % of the ECS
 * calls. One invocation looks at every target inside its time budget, starts every due dump, and fails
 * each of the five on its own.
 */

const REMAINING_MS = 300_000;
const names = Array.from({ length: 200 }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
const startable = names.slice(0, 15);
const failing = names.slice(15, 20);
const done = names.slice(20);
const serviceOf = (name: string): string => {
  const i = names.indexOf(name);
  if (i < 15) return `svc-${Math.floor(i / 2)}`;
  if (i < 20) return `gone-${i - 15}`;
  return `svc-${i % 8}`;
};

let h: Harness;
let run: LambdaRun;
let elapsedMs: number;
type Result = { target: string; outcome: string; reason?: string };
let results: Map<string, Result>;

beforeAll(async () => {
  h = await startHarness({ fastPathSeconds: 0 });
  // The dumps only need to start; this pg_dump fails in the background, after the invocation has moved on.
  const pgDump = h.fakePgDump('exit 3');
  for (let s = 0; s < 8; s++) h.addService(`svc-${s}`, { env: containerEnv({ DB_PASSWORD: 'x' }, pgDump) });
  h.setTargets(
    names.map((name) => ({ name, engine: 'postgres', service: serviceOf(name), container: serviceOf(name), database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD' })),
  );
  const now = new Date().toISOString();
  for (const name of done) {
    const key = `${KEY_PREFIX}${name}/monday.pgdump`;
    const manifest = {
      version: 1, target: name, engine: 'postgres', key, weekday: 'monday', size: 1, sha256: '0'.repeat(64), toolVersion: 'seed',
      runId: 'seed', sourceTask: 'seed', startedAt: now, dumpEndedAt: now, uploadedAt: now, checks: [], counts: null, objectVersionId: null,
    };
    await h.s3.client.send(new PutObjectCommand({ Bucket: h.s3.bucket, Key: `${KEY_PREFIX}${name}/monday.json`, Body: JSON.stringify(manifest) }));
  }
  h.standin.setFaults({ throttleRate: 0.3, seed: 7 });
  const started = Date.now();
  run = await h.run(SCHEDULED_EVENT, { remainingMs: REMAINING_MS });
  elapsedMs = Date.now() - started;
  expect(run.error, run.stderr).toBeNull();
  results = new Map((run.result as { results: Result[] }).results.map((r) => [r.target, r]));
}, 400_000);

afterAll(async () => {
  await h?.stop();
});

describe('a scheduled run over 200 targets', () => {
  it('looks at every target inside its time budget: none deferred', () => {
    expect([...results.keys()].sort()).toEqual([...names].sort());
    expect([...results.values()].filter((r) => r.outcome === 'deferred')).toEqual([]);
    expect(elapsedMs).toBeLessThan(REMAINING_MS);
  });

  it('leaves the targets done for today alone', () => {
    for (const name of done) expect(results.get(name), name).toMatchObject({ outcome: 'idle', reason: 'done' });
  });

  it('starts every due dump on a running service', () => {
    for (const name of startable) expect(results.get(name), name).toMatchObject({ outcome: 'started' });
  });

  it('fails each target without a task on its own: its own reason and metric, nobody else’s', () => {
    for (const name of failing) {
      expect(results.get(name), name).toMatchObject({ outcome: 'failed' });
      expect(results.get(name)!.reason).toContain(`service ${serviceOf(name)} in cluster`);
      expect(metricSum(run, 'BackupFailure', name)).toBe(1);
    }
    for (const name of [...startable, ...done]) expect(metricSum(run, 'BackupFailure', name), name).toBe(0);
  });

  it('got through the injected throttling, and listed each service once', () => {
    const ecsCalls = h.standin.calls.filter((c) => ['ListTasks', 'DescribeTasks', 'ExecuteCommand'].includes(c.operation));
    expect(ecsCalls.filter((c) => c.throttled).length).toBeGreaterThan(5);
    // Answered ListTasks per service: the two targets of a service share one (throttled attempts are retries of it).
    const listed = ecsCalls.filter((c) => c.operation === 'ListTasks' && !c.throttled).map((c) => (c.input as { serviceName: string }).serviceName);
    expect(listed.sort()).toEqual([...new Set([...startable, ...failing].map(serviceOf))].sort());
  });
});
