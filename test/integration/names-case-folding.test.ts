import fc from 'fast-check';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { assembleJob } from '../../functions/shared/core/scripts/common.js';
import { mysqlDrill, mysqlRestore, mysqlScratchDrop, mysqlVars } from '../../functions/shared/core/scripts/engines/mysql.js';
import { buildBackupJob, buildScratchDropJob } from '../../functions/shared/core/scripts/jobs.js';
import { readMarker, runContext } from '../helpers/job-run.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { runJob, shells } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * A MariaDB server with lower_case_table_names=1 takes `Orders` and `ORDERS` for the live `orders`. The Lambda refuses
 * such names already (test/unit/same-database.test.ts); here the jobs are generated past that check, as a job whose
 * Lambda-side check failed would be, and the job asks the server itself: for random pairs of names the server takes for
 * one, nothing is created, dropped or overwritten, and the refusal names both.
 */

let maria: MariadbServer;
let work: string;
let dump: string;
let liveSums: Record<string, string>;
const shell = shells()[0]!;

const flipped = fc
  .array(fc.boolean(), { minLength: 6, maxLength: 6 })
  .map((f) => [...'orders'].map((c, i) => (f[i] ? c.toUpperCase() : c)).join(''))
  .filter((n) => n !== 'orders');

function target(): Target {
  return targetSchema.parse({ name: 'shop', engine: 'mariadb', cluster: 'c', service: 's', container: 'k', database: 'orders', user: 'backup', passwordEnv: 'PW', port: maria.port, backupDir: '/b' });
}

const databases = async () => (await maria.sql('', 'SHOW DATABASES')).split('\n').filter(Boolean).sort();

beforeAll(async () => {
  maria = await startMariadb({ lowerCaseTableNames: 1 });
  work = tempDir('names-folding');
  await maria.sql('', 'CREATE DATABASE orders');
  await maria.sql('orders', "CREATE TABLE o (id INT PRIMARY KEY, v TEXT); INSERT INTO o VALUES (1, 'live'), (2, 'data');");
  const runDir = join(work, 'backup');
  const backup = await runJob(shell, runDir, buildBackupJob(target(), runContext(runDir)), { env: { PW: maria.password } });
  expect(backup.code, backup.log).toBe(0);
  dump = join(runDir, 'dump.sql.gz');
  liveSums = await maria.tableChecksums('orders');
}, 120_000);

afterAll(async () => {
  await maria?.stop();
});

async function runEngineJob(name: string, kind: 'drill' | 'restore', parts: { functions: string; main: string; vars: Record<string, string> }, vars: Record<string, string>) {
  const runDir = join(work, name);
  mkdirSync(runDir, { recursive: true });
  copyFileSync(dump, join(runDir, 'f.sql.gz'));
  const script = assembleJob({ kind, target: target(), ctx: runContext(runDir), secretVar: 'MYSQL_PWD', vars: { FILE: 'f.sql.gz', ...vars, ...mysqlVars(), ...parts.vars }, functions: parts.functions, main: `step secret load_secret\n${parts.main}` });
  const result = await runJob(shell, runDir, script, { env: { PW: maria.password } });
  return { result, marker: readMarker(runDir) };
}

describe('on a server with lower_case_table_names=1', () => {
  it('the server folds the names (the premise)', async () => {
    expect(await maria.sql('', 'SELECT @@lower_case_table_names')).toBe('1\n');
    expect(await maria.sql('ORDERS', 'SELECT COUNT(*) FROM o')).toBe('2\n');
  });

  it('a drill whose scratch name is the live database in another case creates and drops nothing, and names both', async () => {
    const before = await databases();
    let i = 0;
    await fc.assert(
      fc.asyncProperty(flipped, async (scratch) => {
        const { result, marker } = await runEngineJob(`drill-${i++}`, 'drill', mysqlDrill(scratch, 'orders'), { SCRATCH: scratch, INTO: '', OVERWRITE: '0' });
        expect(result.code).toBe(1);
        expect(marker.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['secret:0', 'version:0', 'check:0', 'names:1', 'drop:0']);
        expect(marker.stderrTail).toContain(`refusing: the scratch database "${scratch}" is the live database "orders" by the server's rules`);
        expect(await databases()).toEqual(before);
        expect(await maria.tableChecksums('orders')).toEqual(liveSums);
      }),
      { numRuns: 6 },
    );
  }, 120_000);

  it('a restore without overwrite into the live database in another case overwrites nothing, and names both', async () => {
    await maria.sql('orders', "UPDATE o SET v = 'changed since the backup' WHERE id = 1");
    const changed = await maria.tableChecksums('orders');
    let i = 0;
    await fc.assert(
      fc.asyncProperty(flipped, async (into) => {
        const { result, marker } = await runEngineJob(`restore-${i++}`, 'restore', mysqlRestore(into, 'orders', false), { INTO: into, OVERWRITE: '0' });
        expect(result.code).toBe(1);
        expect(marker.steps.at(-1)).toEqual({ name: 'names', status: 1 });
        expect(marker.stderrTail).toContain(`refusing: the database to restore into (without overwrite) "${into}" is the live database "orders"`);
        expect(await maria.tableChecksums('orders')).toEqual(changed);
      }),
      { numRuns: 4 },
    );
  }, 120_000);

  it('the Lambda\'s cleanup job drops a scratch database left behind, and refuses a name that is the live one in another case', async () => {
    await maria.sql('', 'CREATE DATABASE orders_drill');
    const runDir = join(work, 'cleanup');
    const dropped = await runJob(shell, runDir, buildScratchDropJob(target(), runContext(runDir), 'orders_drill'), { env: { PW: maria.password } });
    expect(dropped.code, dropped.log).toBe(0);
    expect(await databases()).not.toContain('orders_drill');

    const { result, marker } = await runEngineJob('cleanup-refused', 'drill', mysqlScratchDrop('Orders', 'orders'), { SCRATCH: 'Orders' });
    expect(result.code).toBe(1);
    expect(marker.steps.map((x) => `${x.name}:${x.status}`)).toEqual(['secret:0', 'version:0', 'names:1']);
    expect(marker.stderrTail).toContain('refusing: the scratch database "Orders" is the live database "orders"');
    expect(await databases()).toContain('orders');
  });
});
