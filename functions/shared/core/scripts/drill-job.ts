import type { Target } from '../../config/schema.js';
import { mayBeSameDatabase } from '../same-database.js';
import { assembleJob, assertBasename, ScriptError, secretStep, type JobContext } from './common.js';
import { mongoDrill, mongoScratchDrop, mongoVars } from './engines/mongodb.js';
import { mysqlDrill, mysqlScratchDrop, mysqlVars } from './engines/mysql.js';
import { postgresDrill, postgresScratchDrop, postgresVars } from './engines/postgres.js';
import { redisDrill } from './engines/redis.js';
import { SECRET_VARS } from './secrets.js';

const DB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;

/** Rejects a scratch name that is malformed or that the server may take for the live database (the job asks the server again). */
function assertScratch(target: Target, scratch: string): void {
  if (target.engine === 'redis') return;
  if (!DB_NAME.test(scratch)) {
    throw new ScriptError(`scratchDatabase "${scratch}" must be 1-63 letters, digits, underscores, hyphens or dollar signs`);
  }
  if (target.database !== undefined && mayBeSameDatabase(target.engine, scratch, target.database)) {
    throw new ScriptError(
      `scratchDatabase "${scratch}" may be the live database "${target.database}" of target "${target.name}" by the ${target.engine} server's rules for names; the drill drops it, pick another name`,
    );
  }
  if (target.engine === 'mongodb' && target.database === undefined) {
    throw new ScriptError(`target "${target.name}" dumps every mongodb database; a drill needs its database set`);
  }
}

/**
 * The POSIX sh restore drill: restores the file into a scratch database (redis: a throwaway redis-server on a unix
 * socket), records what it restored (SQL engines: rows and their digests per table, read back the way the backup read
 * them, plus the same read from the archive) in the marker, and always drops the scratch database, also after a failure.
 */
export function buildDrillJob(target: Target, ctx: JobContext, opts: { file: string; scratchDatabase: string }): string {
  assertBasename(opts.file, 'the drill file');
  assertScratch(target, opts.scratchDatabase);
  const common = { kind: 'drill' as const, target, ctx, secretVar: SECRET_VARS[target.engine] };
  const vars = { FILE: opts.file, SCRATCH: opts.scratchDatabase };
  const secret = secretStep(target);
  switch (target.engine) {
    case 'postgres': {
      const r = postgresDrill();
      return assembleJob({ ...common, vars: { ...vars, ...postgresVars() }, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'mysql':
    case 'mariadb': {
      const r = mysqlDrill(opts.scratchDatabase, target.database ?? '');
      return assembleJob({ ...common, vars: { ...vars, ...mysqlVars(), ...r.vars }, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'redis': {
      const r = redisDrill();
      return assembleJob({ ...common, vars, functions: r.functions, main: r.main });
    }
    case 'mongodb':
      return assembleJob({ ...common, vars: { ...vars, ...mongoVars() }, ...mongoDrill(target.passwordEnv !== undefined) });
  }
}

/**
 * A short job that only drops a drill's scratch database (after the same name checks as the drill), for the Lambda to
 * run when it ends a drill whose job was killed at its time limit or died with its task. Redis needs none.
 */
export function buildScratchDropJob(target: Target, ctx: JobContext, scratchDatabase: string): string {
  if (target.engine === 'redis') throw new ScriptError('a redis drill has no scratch database to drop');
  assertScratch(target, scratchDatabase);
  const common = { kind: 'drill' as const, target, ctx, secretVar: SECRET_VARS[target.engine] };
  const vars = { SCRATCH: scratchDatabase };
  const secret = secretStep(target);
  switch (target.engine) {
    case 'postgres': {
      const r = postgresScratchDrop();
      return assembleJob({ ...common, vars: { ...vars, ...postgresVars() }, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'mysql':
    case 'mariadb': {
      const r = mysqlScratchDrop(scratchDatabase, target.database ?? '');
      return assembleJob({ ...common, vars: { ...vars, ...mysqlVars(), ...r.vars }, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'mongodb':
      return assembleJob({ ...common, vars: { ...vars, ...mongoVars() }, ...mongoScratchDrop(target.passwordEnv !== undefined) });
  }
}
