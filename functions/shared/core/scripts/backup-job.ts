import type { Target } from '../../config/schema.js';
import { assembleJob, secretStep, type JobContext } from './common.js';
import { mongoBackup, mongoVars } from './engines/mongodb.js';
import { mysqlBackup, mysqlVars } from './engines/mysql.js';
import { postgresBackup, postgresVars } from './engines/postgres.js';
import { redisBackup, redisRemoteBackup } from './engines/redis.js';
import { SECRET_VARS } from './secrets.js';

export type { JobContext } from './common.js';

/**
 * The POSIX sh backup job for a target: dumps to a temporary name in ctx.runDir, runs the engine's self-check, renames
 * to `dump.<ext>`, records bytes and sha256, and writes done.gz last (also when a step fails, with ok=false).
 */
export function buildBackupJob(target: Target, ctx: JobContext): string {
  const hasSecret = target.passwordEnv !== undefined;
  const common = { kind: 'backup' as const, target, ctx, secretVar: SECRET_VARS[target.engine] };
  const withSecret = (body: { functions: string; main: string }) => ({ ...body, main: `${secretStep(target)}\n${body.main}` });
  switch (target.engine) {
    case 'postgres':
      return assembleJob({ ...common, vars: { ...postgresVars(), VERSION_HINT: target.mode }, ...withSecret(postgresBackup()) });
    case 'redis':
      // A runner task has no access to the server's files: it fetches the RDB over the network.
      return assembleJob({ ...common, ...withSecret(target.mode === 'task' ? redisRemoteBackup() : redisBackup()) });
    case 'mysql':
    case 'mariadb':
            {
        const r = mysqlBackup(target.database ?? '');
        return assembleJob({ ...common, ...withSecret(r), vars: { ...mysqlVars(), ...r.vars } });
      }
    case 'mongodb':
      return assembleJob({ ...common, vars: mongoVars(), ...mongoBackup(hasSecret) });
  }
}
