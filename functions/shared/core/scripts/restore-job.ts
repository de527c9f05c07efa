import type { Target } from '../../config/schema.js';
import { assembleJob, assertBasename, ScriptError, secretStep, type JobContext } from './common.js';
import { mongoRestore, mongoVars } from './engines/mongodb.js';
import { mysqlRestore, mysqlVars } from './engines/mysql.js';
import { postgresRestore, postgresVars } from './engines/postgres.js';
import { redisRestore } from './engines/redis.js';
import { SECRET_VARS } from './secrets.js';

/** What to restore: a file already downloaded into runDir, where to, and whether live data may be replaced. */
export interface RestoreOptions {
  file: string;
  intoDatabase?: string;
  overwrite: boolean;
  restartAllowed?: boolean;
  /** Read the restored database's content back (and the archive's) into the marker, for comparison with the manifest. */
  verify?: boolean;
}

const DB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;

/**
 * The POSIX sh restore job: postgres pg_restore (-j, --clean --if-exists only with overwrite) into a database it creates
 * when missing; mysql/mariadb the SQL into the database; mongodb mongorestore; redis stages the RDB and says in the
 * marker's note what remains to do. Without overwrite, a non-empty target database makes the job fail untouched.
 */
export function buildRestoreJob(target: Target, ctx: JobContext, opts: RestoreOptions): string {
  assertBasename(opts.file, 'the restore file');
  const into = opts.intoDatabase ?? target.database ?? '';
  if (opts.intoDatabase !== undefined && !DB_NAME.test(opts.intoDatabase)) {
    throw new ScriptError(`intoDatabase "${opts.intoDatabase}" must be 1-63 letters, digits, underscores, hyphens or dollar signs`);
  }
  if (target.engine === 'redis' && opts.intoDatabase !== undefined) {
    throw new ScriptError('a redis restore replaces the whole dataset; intoDatabase is not supported for redis');
  }
  if (target.engine === 'mongodb' && opts.intoDatabase !== undefined && target.database === undefined) {
    throw new ScriptError(`target "${target.name}" dumps every mongodb database; set its database to restore into another name`);
  }
  const common = {
    kind: 'restore' as const,
    target,
    ctx,
    secretVar: SECRET_VARS[target.engine],
  };
  const vars = {
    FILE: opts.file,
    INTO: into,
    OVERWRITE: opts.overwrite ? '1' : '0',
    RESTART_ALLOWED: opts.restartAllowed === true ? '1' : '0',
  };
  const secret = secretStep(target);
  switch (target.engine) {
    case 'postgres': {
      const r = postgresRestore(into, { suffix: ctx.runId.replace(/[^A-Za-z0-9]/g, '').slice(-20).toLowerCase(), verify: opts.verify === true });
      return assembleJob({ ...common, vars: { ...vars, ...postgresVars(), ...r.vars }, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'mysql':
    case 'mariadb': {
      const r = mysqlRestore(into, target.database, opts.verify === true);
      return assembleJob({ ...common, vars: { ...vars, ...mysqlVars(), ...r.vars }, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'redis': {
      const r = redisRestore();
      return assembleJob({ ...common, vars, functions: r.functions, main: `${secret}\n${r.main}` });
    }
    case 'mongodb':
      return assembleJob({ ...common, vars: { ...vars, ...mongoVars() }, ...mongoRestore(target.passwordEnv !== undefined) });
  }
}
