import { Cron } from 'croner';
import * as z from 'zod';
import { DEFAULT_DEPLOYMENT_NAME, MAX_DEPLOYMENT_NAME_LENGTH } from './deployment-names.js';
import { firesRepeatedly } from '../core/schedule.js';
import { mayBeSameDatabase } from '../core/same-database.js';
import { disasterRecoveryIssues, objectLockSchema, replicationSchema, snapshotsSchema } from './disaster-recovery.js';
import { bucketName, kmsKeyArn, pattern, regionName, timeZone } from './fields.js';
import { DEFAULT_SHRINK_RULES } from '../core/shrink.js';
import { MAX_POSIX_BASE, targetPosixUser } from '../core/target-posix-user.js';

/**
 * The one configuration schema: main.ts validates the file with it before synthesizing, and the
 * orchestrator Lambda validates its environment with the same `targetSchema`, so both reject the
 * same bad input. Every string that can reach a shell, a path or an S3 key is held to a strict
 * pattern here and is still quoted wherever it is used.
 */

/** Engines the orchestrator knows how to dump and restore. */
export const ENGINES = ['postgres', 'redis', 'mysql', 'mariadb', 'mongodb'] as const;

/** A database engine name. */
export type Engine = (typeof ENGINES)[number];

/** How the dump job reaches a target: inside its own container (ECS Exec) or in a one-off Fargate task of the stack. */
export const TARGET_MODES = ['exec', 'task'] as const;

/** A target's mode. */
export type TargetMode = (typeof TARGET_MODES)[number];

/**
 * The official image each engine's runner task uses when the target names none. pg_dump must be at least the
 * server's major version, so postgres defaults to the newest; set task.image to match older or newer servers.
 */
export const DEFAULT_TASK_IMAGES: Record<Engine, string> = {
  postgres: 'postgres:17',
  redis: 'redis:7',
  mysql: 'mysql:8.4',
  mariadb: 'mariadb:11',
  mongodb: 'mongo:7',
};

/** Where the runner task mounts the backup EFS access point (the stack's task definitions use it). */
export const TASK_BACKUP_DIR = '/backup';

/** Fargate's CPU units and the memory (MiB) each allows, from the ECS documentation's table. */
export const FARGATE_SIZES: Record<number, { min: number; max: number; step: number }> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
};

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;


/** How staleness is alarmed on: one alarm per target, or one for the whole fleet (modules/alarms.ts says why). */
export const STALENESS_ALARMS = ['per-target', 'fleet'] as const;

/** A value of `alarms.staleness`. */
export type StalenessAlarm = (typeof STALENESS_ALARMS)[number];
const id = (prefix: string) => pattern(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `an id like "${prefix}-0123456789abcdef0"`);

/** Target names end up in S3 keys, EFS paths, metric dimensions and shell scripts. */
const targetName = pattern(
  /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/,
  '1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
);
/** ECS cluster, service and container names (the ECS rules). */
const ecsName = pattern(/^[A-Za-z0-9_-]{1,255}$/, '1-255 letters, digits, hyphens or underscores');
/** Database, user and role names: no quoting tricks needed anywhere they go. */
const dbName = pattern(
  /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/,
  '1-63 letters, digits, underscores, hyphens or dollar signs, not starting with a hyphen or dollar sign',
);
const dbUser = pattern(
  /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}$/,
  '1-63 letters, digits, underscores, dots, @ or hyphens, not starting with a dot, @ or hyphen',
);
const envName = pattern(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name (letters, digits, underscores)');
const hostName = pattern(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'a host name or IPv4 address');
/** An absolute path of plain segments: no `.`, `..`, spaces or shell characters. */
const absolutePath = z
  .string()
  .regex(/^(\/[A-Za-z0-9_][A-Za-z0-9._-]*)+$/, {
    message: 'must be an absolute path of segments made of letters, digits, dots, underscores or hyphens',
  })
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), {
    message: 'must not contain "." or ".." segments',
  });

const cronExpression = z.string().superRefine((expr, ctx) => {
  try {
    new Cron(expr, { paused: true, mode: '5-part' });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `is not a valid 5-field cron expression (${(error as Error).message})` });
  }
});

const drillSchema = z
  .strictObject({
    schedule: cronExpression.describe('When to run a restore drill (5-field cron), e.g. weekly "30 3 * * 0".'),
    timeZone: timeZone.default('UTC').describe('IANA time zone of the drill schedule.'),
    scratchDatabase: dbName
      .optional()
      .describe('Database the drill restores into and drops afterwards; default "<database>_drill".'),
  })
  .describe('Scheduled restore drill: restore the latest backup into a scratch database and compare counts.');

/** A POSIX uid or gid of a target's access point: not root (0 is the orchestrator's) and not 4294967295 (-1). */
const posixId = z.number().int().min(1, { message: 'must be at least 1: uid/gid 0 (root) is the orchestrator\'s' }).max(4294967294);
/** A Secrets Manager secret ARN (IAM policies and task definitions need the full ARN). */
const secretArn = pattern(
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/,
  'a Secrets Manager secret ARN like "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/app-AbCdEf"',
);
/** An image reference: registry/repository:tag or @digest, no shell characters. */
const imageRef = pattern(/^[a-z0-9][a-z0-9._/:@-]{0,254}[a-z0-9]$/, 'an image like "postgres:17" or "public.ecr.aws/docker/library/postgres:17"');

const taskSchema = z
  .strictObject({
    image: imageRef.optional().describe('Image of the runner task; default the engine\'s official image (postgres:17, mariadb:11, mysql:8.4, mongo:7, redis:7). pg_dump must be at least the server\'s major version.'),
    cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(512).describe('Fargate CPU units of the runner task.'),
    memoryMb: z.number().int().default(1024).describe('Fargate memory (MiB) of the runner task; must fit the CPU size.'),
    subnetIds: z.array(id('subnet')).min(1).describe('Subnets the runner task runs in (they must reach the database and EFS).'),
    securityGroupIds: z.array(id('sg')).min(1).describe('Security groups of the runner task (the database must let them in).'),
    assignPublicIp: z.boolean().default(false).describe('Give the task a public IP (only for public subnets without a NAT gateway, to pull the image).'),
  })
  .superRefine((t, ctx) => {
    const size = FARGATE_SIZES[t.cpu]!;
    if (t.memoryMb < size.min || t.memoryMb > size.max || (t.memoryMb - size.min) % size.step !== 0) {
      ctx.addIssue({ code: 'custom', path: ['memoryMb'], message: `must be ${size.min}-${size.max} MiB in steps of ${size.step} for cpu ${t.cpu} (Fargate's sizes)` });
    }
  })
  .describe('Runner task of a mode "task" target: a one-off Fargate task the stack defines for this target.');

/** One database to back up. */
export const targetSchema = z
  .strictObject({
    name: targetName.describe('Unique name of the target; used in S3 keys, EFS paths and metrics.'),
    engine: z.enum(ENGINES).describe('Database engine running in the container.'),
    mode: z
      .enum(TARGET_MODES)
      .default('exec')
      .describe('"exec": dump inside the database\'s own container over ECS Exec; "task": dump from a one-off Fargate task (managed databases, images without the tools).'),
    cluster: ecsName.describe('ECS cluster of the database service (mode task: the cluster the runner task runs in).'),
    service: ecsName.optional().describe('ECS service running the database (mode exec only, required there).'),
    container: ecsName.optional().describe('Container (in the task definition) that runs the database (mode exec only, required there).'),
    secretArn: secretArn
      .optional()
      .describe('Mode task: Secrets Manager secret with username, password, host (or endpoint), port and dbname; the task gets the password through its task definition\'s secrets.'),
    task: taskSchema.optional(),
    database: dbName
      .optional()
      .describe('Database to dump. Required for postgres, mysql and mariadb; mongodb dumps all when omitted.'),
    user: dbUser.optional().describe('Database user for the dump (redis: ACL user).'),
    passwordEnv: envName
      .optional()
      .describe('Name of the container environment variable holding the password (never the password itself).'),
    host: hostName.default('127.0.0.1').describe('Host the dump tool connects to, seen from inside the container.'),
    port: z.number().int().min(1).max(65535).optional().describe("Port; default the engine's standard port."),
    backupDir: absolutePath
      .optional()
      .describe(`Directory inside the container where the target's own EFS access point is mounted (mode exec, required there; mode task: always ${TASK_BACKUP_DIR}).`),
    schedule: cronExpression.default('0 0 * * *').describe('When a backup is due (5-field cron).'),
    timeZone: timeZone.default('UTC').describe('IANA time zone of the schedule.'),
    taskRoleName: pattern(/^[\w+=,.@-]{1,64}$/, 'an IAM role name')
      .optional()
      .describe('IAM role of the database task; gets the ssmmessages permissions ECS Exec needs.'),
    posixUid: posixId
      .optional()
      .describe("POSIX uid of the target's EFS access point (owner of its 0700 directory); default efs.posixUid + 1 + a stable number from the name."),
    posixGid: posixId
      .optional()
      .describe("POSIX gid of the target's EFS access point; default efs.posixGid + 1 + the same number."),
    dumpTimeoutMinutes: z.number().int().min(1).max(24 * 60).default(180).describe('A dump running longer fails.'),
    allowServiceRestart: z
      .boolean()
      .default(false)
      .describe('Redis restore only: let the orchestrator restart the service on the restored RDB.'),
    priority: z
      .enum(['low', 'normal'])
      .default('low')
      .describe('low: backups and drills run at nice +10 and the lowest best-effort I/O class (where the image has renice and ionice), the dump\'s database session too, so the live database goes first; normal: full speed. Restores always run at normal priority.'),
    ecsManagedTags: z
      .boolean()
      .default(false)
      .describe("The service runs with enableECSManagedTags: true, so its tasks carry the tag aws:ecs:serviceName. When every target of a cluster sets it, the orchestrator's ecs:ExecuteCommand is limited to the configured services' tasks (aws:ResourceTag/aws:ecs:serviceName), not only to the configured container names."),
    drill: drillSchema.optional(),
    shrink: z
      .strictObject({
        percent: z.number().int().min(1).max(100).default(DEFAULT_SHRINK_RULES.percent).describe('A dump this many percent smaller, or a table with this many percent fewer rows, than in the previous backup is flagged.'),
        minBytes: z.number().int().min(0).default(DEFAULT_SHRINK_RULES.minBytes).describe('A previous backup smaller than this many bytes is not compared by size.'),
        minRows: z.number().int().min(1).default(DEFAULT_SHRINK_RULES.minRows).describe('A table with fewer rows than this in the previous backup is not compared.'),
      })
      .default({ ...DEFAULT_SHRINK_RULES })
      .describe('When a backup counts as shrunk (still uploaded, but flagged: BackupShrank metric and alarm, a log line naming the tables, the manifest\'s "shrank"; npm run status says "shrank").'),
  })
  .superRefine((t, ctx) => {
    modeRules(t, ctx);
    if (['postgres', 'mysql', 'mariadb'].includes(t.engine) && t.database === undefined) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: `is required for engine "${t.engine}"` });
    }
    if (t.engine === 'redis' && t.database !== undefined && !/^(?:[0-9]|1[0-5])$/.test(t.database)) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'must be a redis database number 0-15 when given' });
    }
    if (t.engine === 'mongodb' && t.database?.includes('$')) {
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'must not contain "$" for engine "mongodb" (MongoDB refuses such database names)' });
    }
    repeatingSchedule(ctx, ['schedule'], t.schedule, t.timeZone);
    if (t.drill) drillIssues(ctx, t, t.drill);
  });

/** The longest database name the drill job accepts (PostgreSQL's and MongoDB's limit; MySQL's is 64). */
const MAX_DATABASE_NAME = 63;

/** A schedule that fires fewer than twice in two years leaves no backup to keep and no gap to alarm on. */
function repeatingSchedule(ctx: z.RefinementCtx, path: string[], schedule: string, tz: string): void {
  let repeats: boolean;
  try {
    repeats = firesRepeatedly(schedule, tz);
  } catch {
    return; // an unparsable expression or time zone has its own issue already
  }
  if (!repeats) ctx.addIssue({ code: 'custom', path, message: `fires less than once a year ("${schedule}" in ${tz}); use a schedule that repeats` });
}

/** What would make every drill of the target fail (the hourly orchestrator would alarm each time): caught here instead. */
function drillIssues(ctx: z.RefinementCtx, t: { name: string; engine: Engine; database?: string | undefined }, drill: z.output<typeof drillSchema>): void {
  repeatingSchedule(ctx, ['drill', 'schedule'], drill.schedule, drill.timeZone);
  if (t.engine === 'redis') return;
  if (t.engine === 'mongodb' && t.database === undefined) {
    ctx.addIssue({ code: 'custom', path: ['drill'], message: 'needs the target\'s database: a mongodb target without one dumps every database, which a drill cannot restore into one scratch database' });
  }
  const scratch = drill.scratchDatabase ?? `${t.database ?? t.name}_drill`;
  if (drill.scratchDatabase === undefined && scratch.length > MAX_DATABASE_NAME) {
    ctx.addIssue({
      code: 'custom',
      path: ['drill', 'scratchDatabase'],
      message: `is required: the default "<database>_drill" would be ${scratch.length} characters (database is ${t.database?.length ?? 0}), over the ${MAX_DATABASE_NAME} a database name may have; name a shorter scratch database`,
    });
  }
  if (drill.scratchDatabase !== undefined && t.database !== undefined && mayBeSameDatabase(t.engine, drill.scratchDatabase, t.database)) {
    ctx.addIssue({
      code: 'custom',
      path: ['drill', 'scratchDatabase'],
      message: `may be the live database "${t.database}" by the ${t.engine} server's rules for names (the drill drops its scratch database); pick another name`,
    });
  }
}

/** Which fields each mode needs and which it refuses, so a target never carries settings that would be ignored. */
function modeRules(
  t: { mode: TargetMode; service?: string | undefined; container?: string | undefined; backupDir?: string | undefined; secretArn?: string | undefined; task?: unknown; passwordEnv?: string | undefined; taskRoleName?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  const need = (field: keyof typeof t, why: string) => {
    if (t[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `is required for mode "${t.mode}" (${why})` });
  };
  const refuse = (field: keyof typeof t, why: string) => {
    if (t[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `is not used in mode "${t.mode}": ${why}` });
  };
  if (t.mode === 'exec') {
    need('service', 'the service whose task the dump runs in');
    need('container', 'the container the dump runs in');
    need('backupDir', 'where that container mounts the backup EFS');
    refuse('secretArn', 'exec targets read the password from the container\'s environment (passwordEnv)');
    refuse('task', 'only mode "task" runs a task of its own');
  } else {
    need('secretArn', 'the runner task gets the host and credentials from it');
    need('task', 'the subnets and security groups of the runner task');
    refuse('service', 'the dump runs in a task of its own');
    refuse('container', 'the dump runs in a task of its own');
    refuse('backupDir', `the runner task mounts the backup EFS at ${TASK_BACKUP_DIR}`);
    refuse('passwordEnv', 'the password comes from secretArn');
    refuse('taskRoleName', 'ECS Exec permissions are for exec targets');
  }
}

/** A validated target, defaults filled in. */
export type Target = z.output<typeof targetSchema>;

/** RFC 1918 private ranges: any VPC's usual CIDR, the default clients of the interface endpoints. */
export const PRIVATE_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** The whole configuration file. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path of the JSON Schema, for editors.'),
    name: pattern(
      new RegExp(`^[a-z](?:[a-z0-9-]{0,${MAX_DEPLOYMENT_NAME_LENGTH - 2}}[a-z0-9])?$`),
      `1-${MAX_DEPLOYMENT_NAME_LENGTH} lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit`,
    )
      .default(DEFAULT_DEPLOYMENT_NAME)
      .describe(
        'Deployment name: prefixes every resource name, is the metric dimension `service` and the stack name, so two deployments (staging and prod, two VPCs) live in one account and region.',
      ),
    region: regionName.describe('AWS region.'),
    bucket: z
      .strictObject({
        name: bucketName.describe('Bucket name.'),
        existing: z.boolean().default(false).describe('Use an existing bucket instead of creating it.'),
      })
      .describe('Backup bucket.'),
    keyPrefix: z
      .string()
      .regex(/^(?:[A-Za-z0-9_-]+\/)*$/, { message: 'must be empty or segments of letters, digits, "_" or "-", each ending in "/"' })
      .default('ecs-db-backup/')
      .describe('Prefix of every object key.'),
    retentionDays: z.number().int().min(1).max(3650).default(35).describe('Days non-current object versions are kept.'),
    kmsKeyArn: kmsKeyArn.optional().describe('Customer-managed KMS key for SSE-KMS; SSE-S3 when omitted.'),
    execKmsKeys: z
      .record(ecsName, kmsKeyArn, { error: (issue) => (issue.code === 'invalid_key' ? 'is not a cluster name: must be 1-255 letters, digits, hyphens or underscores' : undefined) })
      .default({})
      .describe(
        "ECS Exec KMS key ARN per cluster name, for clusters whose executeCommandConfiguration has a kmsKeyId: the orchestrator's role gets kms:GenerateDataKey on it, and the task-role policy (attached to every taskRoleName) kms:Decrypt on the keys of clusters whose targets name a task role.",
      ),
    vpcId: id('vpc').describe('VPC of the Lambda, the EFS mount targets and the endpoints.'),
    subnetIds: z.array(id('subnet')).min(1).describe('Subnets of the Lambda (and of interface endpoints).'),
    securityGroupIds: z.array(id('sg')).default([]).describe('Extra security groups for the Lambda.'),
    efs: z
      .strictObject({
        fileSystemId: id('fs').describe('EFS file system holding the backup directory.'),
        mountTargetSecurityGroupId: id('sg').describe('Security group of the EFS mount targets (gets an NFS ingress rule).'),
        rootPath: absolutePath.default('/ecs-db-backup').describe("Directory on the file system holding every target's directory (<rootPath>/<target>); the orchestrator's access point."),
        posixUid: z.number().int().min(0).max(MAX_POSIX_BASE).default(1000).describe("Base of the targets' default POSIX uids (see targets[].posixUid)."),
        posixGid: z.number().int().min(0).max(MAX_POSIX_BASE).default(1000).describe("Base of the targets' default POSIX gids (see targets[].posixGid)."),
        manageFileSystemPolicy: z
          .boolean()
          .default(false)
          .describe(
            "Set the file system's policy (TLS only, access only through the backup access points, each by its own role). It replaces any policy the file system has, and denies every other mount: only for a file system that holds nothing but the backups. Otherwise merge the output efs_file_system_policy into your own.",
          ),
      })
      .describe("Backup EFS: each target's container mounts its own access point (<rootPath>/<target>) at its backupDir."),
    endpoints: z
      .strictObject({
        s3Gateway: z.boolean().default(false).describe('Create an S3 gateway endpoint (free).'),
        routeTableIds: z.array(id('rtb')).default([]).describe('Route tables for the S3 gateway endpoint.'),
        ecs: z.boolean().default(false).describe('Create an interface endpoint for ecs (billed hourly).'),
        ssmmessages: z.boolean().default(false).describe('Create an interface endpoint for ssmmessages (billed hourly).'),
        clientCidrs: z
          .array(
            pattern(
              /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(?:[0-9]|[12]\d|3[0-2])$/,
              'an IPv4 CIDR block like "10.0.0.0/16"',
            ),
          )
          .default([...PRIVATE_CIDRS])
          .describe(
            'Who else may use the interface endpoints over HTTPS besides the Lambda: their private DNS serves the whole VPC, so the database tasks (ECS Exec) use them too. Narrow it to your VPC CIDR.',
          ),
      })
      .default({ s3Gateway: false, routeTableIds: [], ecs: false, ssmmessages: false, clientCidrs: [...PRIVATE_CIDRS] })
      .superRefine((e, ctx) => {
        if (e.s3Gateway && e.routeTableIds.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['routeTableIds'], message: 'must list at least one route table when s3Gateway is true' });
        }
      })
      .describe('VPC endpoints to create.'),
    alarmEmail: z.email({ message: 'must be an e-mail address' }).optional().describe('E-mail subscribed to the alarm topic.'),
    alarms: z
      .strictObject({
        staleness: z
          .enum(STALENESS_ALARMS)
          .default('per-target')
          .describe(
            '"per-target": one BackupAgeHours alarm per target ($0.10 each). "fleet": one alarm for all targets on the StaleTargets count the orchestrator publishes every hour (targets over their own limit, without a backup, or not looked at); for large fleets. The log line "stale targets" names them.',
          ),
      })
      .default({ staleness: 'per-target' })
      .describe('Alarm settings.'),
    lambda: z
      .strictObject({
        timeoutSeconds: z.number().int().min(60).max(900).default(900).describe('Lambda timeout.'),
        memoryMb: z.number().int().min(256).max(10240).default(512).describe('Lambda memory.'),
        reservedConcurrency: z.number().int().min(1).max(10).default(2).describe('Reserved concurrency (bounded).'),
        logRetentionDays: z
          .number()
          .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
            message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
          })
          .default(30)
          .describe('Retention of the Lambda log group.'),
        fastPathSeconds: z
          .number()
          .int()
          .min(0)
          .max(600)
          .default(120)
          .describe('How long an invocation waits for a dump it just started before leaving it to the next hour.'),
      })
      .default({ timeoutSeconds: 900, memoryMb: 512, reservedConcurrency: 2, logRetentionDays: 30, fastPathSeconds: 120 })
      .describe('Orchestrator Lambda settings.'),
    targets: z.array(targetSchema).min(1).describe('Databases to back up.'),
    snapshots: snapshotsSchema.optional(),
    replication: replicationSchema.optional(),
    objectLock: objectLockSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.targets.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicates target name "${t.name}"` });
      seen.add(t.name);
    });
    posixUserIssues(c, ctx);
    const clusters = new Set(c.targets.map((t) => t.cluster));
    for (const cluster of Object.keys(c.execKmsKeys)) {
      if (!clusters.has(cluster)) ctx.addIssue({ code: 'custom', path: ['execKmsKeys', cluster], message: `names cluster "${cluster}", which no target uses` });
    }
    for (const issue of disasterRecoveryIssues(c)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  })
  .describe('ecs-db-backup configuration');

/** Each target's access point has its own uid and gid. */
function posixUserIssues(
  c: { efs: { posixUid: number; posixGid: number }; targets: readonly (Target & { posixUid?: number; posixGid?: number })[] },
  ctx: z.RefinementCtx,
): void {
  const uids = new Map<number, string>();
  const gids = new Map<number, string>();
  c.targets.forEach((t, i) => {
    const { uid, gid } = targetPosixUser({ efs: c.efs, target: t });
    const sameUid = uids.get(uid);
    // A duplicate name is reported as such: its default ids are the other's by construction.
    if (c.targets.findIndex((o) => o.name === t.name) !== i) return;
    if (sameUid !== undefined) ctx.addIssue({ code: 'custom', path: ['targets', i, 'posixUid'], message: `uid ${uid} is target "${sameUid}"'s too: each target needs its own; set posixUid` });
    const sameGid = gids.get(gid);
    if (sameGid !== undefined) ctx.addIssue({ code: 'custom', path: ['targets', i, 'posixGid'], message: `gid ${gid} is target "${sameGid}"'s too: each target needs its own; set posixGid` });
    uids.set(uid, t.name);
    gids.set(gid, t.name);
  });
}

/** A validated configuration, defaults filled in. */
export type BackupConfig = z.output<typeof configSchema>;
