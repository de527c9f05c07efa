import { describe, expect, it, vi } from 'vitest';
import { reportStaleTargets, STALE_NAMES_LOGGED } from '../../functions/orchestrator/backup/stale-targets.js';
import { createTelemetry } from '../../functions/shared/adapters/telemetry.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { staleTargets, type ObservedAge } from '../../functions/shared/core/fleet-staleness.js';

const LIMITS = [
  { name: 'daily', limitHours: 29 },
  { name: 'weekly', limitHours: 171 },
];
const age = (hours: number): ObservedAge => ({ kind: 'age', hours });

describe('staleTargets', () => {
  it.each([
    { when: 'both are within their own limits', observed: { daily: age(28.9), weekly: age(170) }, stale: [] },
    { when: 'an age is exactly its limit (the alarm is "greater than")', observed: { daily: age(29), weekly: age(171) }, stale: [] },
    { when: "the weekly target is 100 h old: over the daily limit, not its own", observed: { daily: age(3), weekly: age(100) }, stale: [] },
    { when: 'the daily target is 30 h old', observed: { daily: age(30), weekly: age(1) }, stale: [{ target: 'daily', reason: 'newest backup is 30.0 h old, over its limit of 29 h' }] },
    { when: 'a target has no backup at all', observed: { daily: { kind: 'none' }, weekly: age(1) }, stale: [{ target: 'daily', reason: 'no verified backup yet' }] },
    { when: "a target's age could not be read", observed: { daily: age(1), weekly: { kind: 'unknown' } }, stale: [{ target: 'weekly', reason: 'its backup age was not read this hour (deferred, or S3 failed)' }] },
    { when: 'a target was not looked at (deferred: no observation)', observed: { daily: age(1) }, stale: [{ target: 'weekly', reason: 'its backup age was not read this hour (deferred, or S3 failed)' }] },
  ])('given $when, names exactly the stale ones', ({ observed, stale }) => {
    expect(staleTargets(LIMITS, new Map(Object.entries(observed) as [string, ObservedAge][]))).toEqual(stale);
  });

  it('counts every target once, in the configured order', () => {
    const observed = new Map<string, ObservedAge>([['weekly', age(500)], ['daily', { kind: 'none' }]]);
    expect(staleTargets(LIMITS, observed).map((s) => s.target)).toEqual(['daily', 'weekly']);
  });
});

/** The EMF documents and log lines `act` writes (stdout and stderr). */
function writtenBy(act: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) => vi.spyOn(stream, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true)));
  try {
    act();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('reportStaleTargets', () => {
  const env = { POWERTOOLS_SERVICE_NAME: 'fleet-500', POWERTOOLS_METRICS_NAMESPACE: 'EcsDbBackup' };
  const targets = Array.from({ length: 60 }, (_, i) =>
    targetSchema.parse({ name: `t${i}`, engine: 'redis', cluster: 'c', service: 's', container: 'redis', backupDir: '/backup' }),
  );
  const limits = Object.fromEntries(targets.map((t) => [t.name, 29]));

  it('publishes the count with the service dimension only, the one the fleet alarm watches', () => {
    const observed = new Map<string, ObservedAge>(targets.map((t, i) => [t.name, age(i < 3 ? 40 : 1)]));
    const out = writtenBy(() => expect(reportStaleTargets(createTelemetry(env), targets, limits, observed)).toBe(3));
    const emf = out.filter((d) => '_aws' in d);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ StaleTargets: 3, service: 'fleet-500', _aws: { CloudWatchMetrics: [{ Namespace: 'EcsDbBackup', Dimensions: [['service']], Metrics: [{ Name: 'StaleTargets', Unit: 'Count' }] }] } });
    expect(emf[0]).not.toHaveProperty('target');
    const warn = out.find((d) => d.message === 'stale targets');
    expect(warn).toMatchObject({ count: 3, targets: [{ target: 't0' }, { target: 't1' }, { target: 't2' }] });
  });

  it('publishes 0 when nothing is stale (the alarm goes back to OK) and logs no warning', () => {
    const out = writtenBy(() => reportStaleTargets(createTelemetry(env), targets, limits, new Map(targets.map((t) => [t.name, age(1)]))));
    expect(out.filter((d) => '_aws' in d).map((d) => d.StaleTargets)).toEqual([0]);
    expect(out.some((d) => d.message === 'stale targets')).toBe(false);
  });

  it(`names at most ${STALE_NAMES_LOGGED} targets in its log line, and counts them all`, () => {
    const out = writtenBy(() => reportStaleTargets(createTelemetry(env), targets, limits, new Map()));
    expect(out.find((d) => '_aws' in d)?.StaleTargets).toBe(60);
    expect((out.find((d) => d.message === 'stale targets')?.targets as unknown[]).length).toBe(STALE_NAMES_LOGGED);
  });
});
