import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { restoreRefusal } from '../../functions/orchestrator/restore/restore-workflow.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { mayBeSameDatabase } from '../../functions/shared/core/same-database.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/jobs.js';
import { overwrittenName } from '../../scripts/restore.js';

/** A database name the config accepts (MongoDB refuses `$` in database names, so the schema does too). */
const dbName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/);
const dbNameFor = (engine: string) => (engine === 'mongodb' ? dbName.filter((n) => !n.includes('$')) : dbName);
/** The same name with the case of some letters flipped: one database on a case-folding server. */
const withFlips = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flips) =>
    [...name].map((c, i) => (flips[i] ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join(''),
  );
const target = (engine: string, database: string) =>
  targetSchema.parse({ name: 't', engine, cluster: 'c', service: 's', container: 'k', database, backupDir: '/backup' });
const ctx = { runId: '20260101T000000Z-abcdef', runDir: '/backup/t/x', startedAt: '2026-01-01T00:00:00Z' };

describe('names the server would take for the live database', () => {
  it.each(['mysql', 'mariadb', 'mongodb'])('are refused for %s in any case: no drill job is generated, no restore is started, and the refusal names both', (engine) => {
    fc.assert(
      fc.property(dbNameFor(engine).chain((live) => fc.tuple(fc.constant(live), withFlips(live))), ([live, other]) => {
        const t = target(engine, live);
        expect(() => buildDrillJob(t, ctx, { file: 'f', scratchDatabase: other })).toThrow(`scratchDatabase "${other}" may be the live database "${live}"`);
        const refusal = restoreRefusal(t, { intoDatabase: other, overwrite: false });
        expect(refusal).toContain(`"${live}"`);
        expect(refusal).toContain(other === live ? 'the live database' : `"${other}"`);
        expect(overwrittenName(t, { into: other, overwrite: false })).toBe(other);
      }),
      { numRuns: 300 },
    );
  });

  it('are the identical name for PostgreSQL, which compares names exactly (the Lambda cannot fold what the server does not)', () => {
    fc.assert(
      fc.property(dbName, (live) => {
        const t = target('postgres', live);
        expect(() => buildDrillJob(t, ctx, { file: 'f', scratchDatabase: live })).toThrow(`scratchDatabase "${live}" may be the live database "${live}"`);
        expect(restoreRefusal(t, { intoDatabase: live, overwrite: false })).toContain(`the live database "${live}"`);
      }),
    );
    expect(mayBeSameDatabase('postgres', 'Orders', 'orders')).toBe(false);
    expect(mayBeSameDatabase('postgres', `${'a'.repeat(63)}x`, `${'a'.repeat(63)}y`)).toBe(true);
  });

  it('leave other names alone', () => {
    expect(restoreRefusal(target('mariadb', 'orders'), { intoDatabase: 'orders_copy', overwrite: false })).toBeNull();
    expect(mayBeSameDatabase('mariadb', 'orders', 'orders_drill')).toBe(false);
  });
});
