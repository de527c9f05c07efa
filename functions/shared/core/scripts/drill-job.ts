import type { Target } from '../../config/schema.js';
import { assembleJob, assertBasename, ScriptError, secretStep, type JobContext } from './common.js';
import { mongoDrill, mongoVars } from './engines/mongodb.js';
import { mysqlDrill, mysqlVars } from './engines/mysql.js';
import { postgresDrill, postgresVars } from './engines/postgres.js';
import { redisDrill } from './engines/redis.js';
import { SECRET_VARS } from './secrets.js';

const DB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;

/**
 * The POSIX sh restore drill: restores the file into a scratch database (redis: a throwaway redis-server on a unix
 * socket), records row/key counts in the marker, and always drops the scratch database, also after a failure.
 */
export function buildDrillJob(target: Target, ctx: JobContext, opts: { file: string; scratchDatabase: string }): string {
  assertBasename(opts.file, 'the drill file');
  if (target.engine !== 'redis') {
    if (!DB_NAME.test(opts.scratchDatabase)) {
      throw new ScriptError(`scratchDatabase "${opts.scratchDatabase}" must be 1-63 letters, digits, underscores, hyphens or dollar signs`);
    }
    if (opts.scratchDatabase === target.database) {
      throw new ScriptError(`scratchDatabase "${opts.scratchDatabase}" is the live database of target "${target.name}"; the drill drops it, pick another name`);
    }
  }
  if (target.engine === 'mongodb' && target.database === undefined) {
    throw new ScriptError(`target "${target.name}" dumps every mongodb database; a drill needs its database set`);
  }
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
      const r = mysqlDrill(opts.scratchDatabase);
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
