import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig, readTargetsFile, resolveConfigPath, serializeTargets } from '../../functions/shared/config/load.js';
import { renderJsonSchema, SCHEMA_PATH } from '../../scripts/write-json-schema.js';
import { tempDir } from '../helpers/temp-dir.js';
import { problemsOf } from '../helpers/config-problems.js';

// Drafts are deliberately malformed, so they are untyped.
type Draft = any;

const MINIMAL = JSON.parse(readFileSync(new URL('../../examples/minimal.json', import.meta.url), 'utf8')) as Draft;


/** Each case breaks one thing in the minimal example; the problems name the field and what is wrong. */
const MALFORMED: Array<[string, (c: Draft) => unknown, string[]]> = [
  [
    "missing region",
    (c: Draft) => delete c.region,
    ["region: Invalid input: expected string, received undefined"],
  ],
  [
    "region of wrong type",
    (c: Draft) => (c.region = 42),
    ["region: Invalid input: expected string, received number"],
  ],
  [
    "malformed region",
    (c: Draft) => (c.region = 'Europe'),
    ["region: must be an AWS region like \"eu-west-1\""],
  ],
  [
    "deployment name with uppercase",
    (c: Draft) => (c.name = 'Staging'),
    ["name: must be 1-32 lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit"],
  ],
  [
    "deployment name too long for the derived IAM names",
    (c: Draft) => (c.name = 'a'.repeat(33)),
    ["name: must be 1-32 lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit"],
  ],
  [
    "missing bucket name",
    (c: Draft) => (c.bucket = {}),
    ["bucket.name: Invalid input: expected string, received undefined"],
  ],
  [
    "bucket name with uppercase",
    (c: Draft) => (c.bucket.name = 'Acme_Backups'),
    ["bucket.name: must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"],
  ],
  [
    "existing not a boolean",
    (c: Draft) => (c.bucket.existing = 'yes'),
    ["bucket.existing: Invalid input: expected boolean, received string"],
  ],
  [
    "unknown top-level field",
    (c: Draft) => (c.bucketName = 'x'),
    ["(root): Unrecognized key: \"bucketName\""],
  ],
  [
    "key prefix without trailing slash",
    (c: Draft) => (c.keyPrefix = 'backups'),
    ["keyPrefix: must be empty or segments of letters, digits, \"_\" or \"-\", each ending in \"/\""],
  ],
  [
    "key prefix with traversal",
    (c: Draft) => (c.keyPrefix = '../other/'),
    ["keyPrefix: must be empty or segments of letters, digits, \"_\" or \"-\", each ending in \"/\""],
  ],
  [
    "retention days zero",
    (c: Draft) => (c.retentionDays = 0),
    ["retentionDays: Too small: expected number to be >=1"],
  ],
  [
    "retention days fractional",
    (c: Draft) => (c.retentionDays = 1.5),
    ["retentionDays: Invalid input: expected int, received number"],
  ],
  [
    "kms key not an ARN",
    (c: Draft) => (c.kmsKeyArn = 'alias/backups'),
    ["kmsKeyArn: must be a KMS key ARN"],
  ],
  [
    "exec KMS key not an ARN",
    (c: Draft) => (c.execKmsKeys = { [c.targets[0].cluster]: 'alias/exec' }),
    [`execKmsKeys.${MINIMAL.targets[0].cluster}: must be a KMS key ARN`],
  ],
  [
    "exec KMS key of a cluster no target uses",
    (c: Draft) => (c.execKmsKeys = { elsewhere: 'arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100' }),
    ['execKmsKeys.elsewhere: names cluster "elsewhere", which no target uses'],
  ],
  [
    "exec KMS key under a name that is no ECS cluster name",
    (c: Draft) => (c.execKmsKeys = { 'bad name': 'arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100' }),
    ['execKmsKeys.bad name: is not a cluster name: must be 1-255 letters, digits, hyphens or underscores'],
  ],
  [
    "vpc id malformed",
    (c: Draft) => (c.vpcId = 'vpc-XYZ'),
    ["vpcId: must be an id like \"vpc-0123456789abcdef0\""],
  ],
  [
    "no subnets",
    (c: Draft) => (c.subnetIds = []),
    ["subnetIds: Too small: expected array to have >=1 items"],
  ],
  [
    "subnet id of another kind",
    (c: Draft) => (c.subnetIds = ['sg-0a1b2c3d4e5f60711']),
    ["subnetIds[0]: must be an id like \"subnet-0123456789abcdef0\""],
  ],
  [
    "efs missing",
    (c: Draft) => delete c.efs,
    ["efs: Invalid input: expected object, received undefined"],
  ],
  [
    "efs root path with traversal",
    (c: Draft) => (c.efs.rootPath = '/backups/../etc'),
    ["efs.rootPath: must be an absolute path of segments made of letters, digits, dots, underscores or hyphens", "efs.rootPath: must not contain \".\" or \"..\" segments"],
  ],
  [
    "efs root path relative",
    (c: Draft) => (c.efs.rootPath = 'backups'),
    ["efs.rootPath: must be an absolute path of segments made of letters, digits, dots, underscores or hyphens"],
  ],
  [
    "efs uid negative",
    (c: Draft) => (c.efs.posixUid = -1),
    ["efs.posixUid: Too small: expected number to be >=0"],
  ],
  [
    "s3 gateway without route tables",
    (c: Draft) => (c.endpoints = { s3Gateway: true }),
    ["endpoints.routeTableIds: must list at least one route table when s3Gateway is true"],
  ],
  [
    "endpoints unknown field",
    (c: Draft) => (c.endpoints = { sqs: true }),
    ["endpoints: Unrecognized key: \"sqs\""],
  ],
  [
    "endpoint client CIDR malformed",
    (c: Draft) => (c.endpoints = { ecs: true, clientCidrs: ['10.0.0.0/33'] }),
    ["endpoints.clientCidrs[0]: must be an IPv4 CIDR block like \"10.0.0.0/16\""],
  ],
  [
    "alarm email malformed",
    (c: Draft) => (c.alarmEmail = 'ops at example.com'),
    ["alarmEmail: must be an e-mail address"],
  ],
  [
    "lambda timeout over 900",
    (c: Draft) => (c.lambda = { timeoutSeconds: 901 }),
    ["lambda.timeoutSeconds: Too big: expected number to be <=900"],
  ],
  [
    "log retention not allowed",
    (c: Draft) => (c.lambda = { logRetentionDays: 10 }),
    ["lambda.logRetentionDays: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"],
  ],
  [
    "reserved concurrency unbounded",
    (c: Draft) => (c.lambda = { reservedConcurrency: 100 }),
    ["lambda.reservedConcurrency: Too big: expected number to be <=10"],
  ],
  [
    "no targets",
    (c: Draft) => (c.targets = []),
    ["targets: Too small: expected array to have >=1 items"],
  ],
  [
    "targets not an array",
    (c: Draft) => (c.targets = { name: 'x' }),
    ["targets: Invalid input: expected array, received object"],
  ],
  [
    "target name missing",
    (c: Draft) => delete c.targets[0].name,
    ["targets[0].name: Invalid input: expected string, received undefined"],
  ],
  [
    "target name with a space",
    (c: Draft) => (c.targets[0].name = 'app pg'),
    ["targets[0].name: must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
  ],
  [
    "target name with a semicolon",
    (c: Draft) => (c.targets[0].name = 'app;rm -rf'),
    ["targets[0].name: must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
  ],
  [
    "target name with a quote",
    (c: Draft) => (c.targets[0].name = "app'pg"),
    ["targets[0].name: must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
  ],
  [
    "target name with a newline",
    (c: Draft) => (c.targets[0].name = 'app\npg'),
    ["targets[0].name: must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
  ],
  [
    "target name uppercase",
    (c: Draft) => (c.targets[0].name = 'AppPg'),
    ["targets[0].name: must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
  ],
  [
    "duplicate target names",
    (c: Draft) => c.targets.push({ ...c.targets[0] }),
    ["targets[1].name: duplicates target name \"app-pg\""],
  ],
  [
    "two targets with one POSIX uid and gid",
    (c: Draft) => c.targets.push({ ...c.targets[0], name: 'other-pg', posixUid: 4000, posixGid: 4000 }, { ...c.targets[0], name: 'third-pg', posixUid: 4000, posixGid: 4000 }),
    ["targets[2].posixUid: uid 4000 is target \"other-pg\"'s too: each target needs its own; set posixUid", "targets[2].posixGid: gid 4000 is target \"other-pg\"'s too: each target needs its own; set posixGid"],
  ],
  [
    "a target running as root on EFS",
    (c: Draft) => (c.targets[0].posixUid = 0),
    ["targets[0].posixUid: must be at least 1: uid/gid 0 (root) is the orchestrator's"],
  ],
  [
    "unknown engine",
    (c: Draft) => (c.targets[0].engine = 'oracle'),
    ["targets[0].engine: Invalid option: expected one of \"postgres\"|\"redis\"|\"mysql\"|\"mariadb\"|\"mongodb\""],
  ],
  [
    "cluster with a dollar",
    (c: Draft) => (c.targets[0].cluster = 'prod$(id)'),
    ["targets[0].cluster: must be 1-255 letters, digits, hyphens or underscores"],
  ],
  [
    "service with a slash",
    (c: Draft) => (c.targets[0].service = 'a/b'),
    ["targets[0].service: must be 1-255 letters, digits, hyphens or underscores"],
  ],
  [
    "container with backticks",
    (c: Draft) => (c.targets[0].container = '`id`'),
    ["targets[0].container: must be 1-255 letters, digits, hyphens or underscores"],
  ],
  [
    "database with a double quote",
    (c: Draft) => (c.targets[0].database = 'app"; DROP'),
    ["targets[0].database: must be 1-63 letters, digits, underscores, hyphens or dollar signs, not starting with a hyphen or dollar sign"],
  ],
  [
    "database missing for postgres",
    (c: Draft) => delete c.targets[0].database,
    ["targets[0].database: is required for engine \"postgres\""],
  ],
  [
    "redis database not a number",
    (c: Draft) => Object.assign(c.targets[0], { engine: 'redis', database: 'cache' }),
    ["targets[0].database: must be a redis database number 0-15 when given"],
  ],
  [
    "user with a space",
    (c: Draft) => (c.targets[0].user = 'back up'),
    ["targets[0].user: must be 1-63 letters, digits, underscores, dots, @ or hyphens, not starting with a dot, @ or hyphen"],
  ],
  [
    "password env with a dash",
    (c: Draft) => (c.targets[0].passwordEnv = 'PG-PASSWORD'),
    ["targets[0].passwordEnv: must be an environment variable name (letters, digits, underscores)"],
  ],
  [
    "password env holding a secret",
    (c: Draft) => (c.targets[0].passwordEnv = 'hunter2!'),
    ["targets[0].passwordEnv: must be an environment variable name (letters, digits, underscores)"],
  ],
  [
    "host with shell characters",
    (c: Draft) => (c.targets[0].host = 'db;reboot'),
    ["targets[0].host: must be a host name or IPv4 address"],
  ],
  [
    "port out of range",
    (c: Draft) => (c.targets[0].port = 70000),
    ["targets[0].port: Too big: expected number to be <=65535"],
  ],
  [
    "port as a string",
    (c: Draft) => (c.targets[0].port = '5432'),
    ["targets[0].port: Invalid input: expected number, received string"],
  ],
  [
    "backup dir relative",
    (c: Draft) => (c.targets[0].backupDir = 'backup'),
    ["targets[0].backupDir: must be an absolute path of segments made of letters, digits, dots, underscores or hyphens"],
  ],
  [
    "backup dir with traversal",
    (c: Draft) => (c.targets[0].backupDir = '/backup/../../etc'),
    ["targets[0].backupDir: must be an absolute path of segments made of letters, digits, dots, underscores or hyphens", "targets[0].backupDir: must not contain \".\" or \"..\" segments"],
  ],
  [
    "backup dir with a space",
    (c: Draft) => (c.targets[0].backupDir = '/my backup'),
    ["targets[0].backupDir: must be an absolute path of segments made of letters, digits, dots, underscores or hyphens"],
  ],
  [
    "backup dir with a dot segment",
    (c: Draft) => (c.targets[0].backupDir = '/backup/./x'),
    ["targets[0].backupDir: must be an absolute path of segments made of letters, digits, dots, underscores or hyphens", "targets[0].backupDir: must not contain \".\" or \"..\" segments"],
  ],
  [
    "bad cron",
    (c: Draft) => (c.targets[0].schedule = '61 * * * *'),
    ["targets[0].schedule: is not a valid 5-field cron expression (CronPattern: Invalid value for minute: 61)"],
  ],
  [
    "cron with six fields",
    (c: Draft) => (c.targets[0].schedule = '0 0 0 * * *'),
    ["targets[0].schedule: is not a valid 5-field cron expression (CronPattern: mode '5-part' requires exactly 5 parts, but pattern '0 0 0 * * *' has 6 parts.)"],
  ],
  [
    "bad time zone",
    (c: Draft) => (c.targets[0].timeZone = 'Mars/Olympus_Mons'),
    ["targets[0].timeZone: is not an IANA time zone (for example \"UTC\" or \"Europe/Berlin\")"],
  ],
  [
    "task role with a space",
    (c: Draft) => (c.targets[0].taskRoleName = 'db task'),
    ["targets[0].taskRoleName: must be an IAM role name"],
  ],
  [
    "dump timeout zero",
    (c: Draft) => (c.targets[0].dumpTimeoutMinutes = 0),
    ["targets[0].dumpTimeoutMinutes: Too small: expected number to be >=1"],
  ],
  [
    "unknown target field",
    (c: Draft) => (c.targets[0].password = 'secret'),
    ["targets[0]: Unrecognized key: \"password\""],
  ],
  [
    "drill with bad cron",
    (c: Draft) => (c.targets[0].drill = { schedule: 'weekly' }),
    ["targets[0].drill.schedule: is not a valid 5-field cron expression (CronPattern: invalid configuration format ('weekly'), exactly five, six, or seven space separated parts are required.)"],
  ],
  [
    "drill with bad time zone",
    (c: Draft) => (c.targets[0].drill = { schedule: '0 3 * * 0', timeZone: 'Nowhere' }),
    ["targets[0].drill.timeZone: is not an IANA time zone (for example \"UTC\" or \"Europe/Berlin\")"],
  ],
  [
    "drill without schedule",
    (c: Draft) => (c.targets[0].drill = {}),
    ["targets[0].drill.schedule: Invalid input: expected string, received undefined"],
  ],
  [
    "schedule that never fires (February 30)",
    (c: Draft) => (c.targets[0].schedule = '0 0 30 2 *'),
    ["targets[0].schedule: fires less than once a year (\"0 0 30 2 *\" in UTC); use a schedule that repeats"],
  ],
  [
    "drill schedule only on February 29",
    (c: Draft) => (c.targets[0].drill = { schedule: '0 3 29 2 *' }),
    ["targets[0].drill.schedule: fires less than once a year (\"0 3 29 2 *\" in UTC); use a schedule that repeats"],
  ],
  [
    "database so long that the drill's default scratch name is too long",
    (c: Draft) => ((c.targets[0].database = 'd'.repeat(58)), (c.targets[0].drill = { schedule: '0 3 * * 0' })),
    ["targets[0].drill.scratchDatabase: is required: the default \"<database>_drill\" would be 64 characters (database is 58), over the 63 a database name may have; name a shorter scratch database"],
  ],
  [
    "scratch database that postgres takes for the live one (same first 63 bytes)",
    (c: Draft) => ((c.targets[0].database = 'd'.repeat(63)), (c.targets[0].drill = { schedule: '0 3 * * 0', scratchDatabase: 'd'.repeat(63) })),
    ["targets[0].drill.scratchDatabase: may be the live database \"" + 'd'.repeat(63) + "\" by the postgres server's rules for names (the drill drops its scratch database); pick another name"],
  ],
  [
    "mariadb scratch database differing from the live one only in case",
    (c: Draft) => Object.assign(c.targets[0], { engine: 'mariadb', database: 'orders', drill: { schedule: '0 3 * * 0', scratchDatabase: 'Orders' } }),
    ["targets[0].drill.scratchDatabase: may be the live database \"orders\" by the mariadb server's rules for names (the drill drops its scratch database); pick another name"],
  ],
  [
    "mongodb drill of a target that dumps every database",
    (c: Draft) => Object.assign(c.targets[0], { engine: 'mongodb', database: undefined, drill: { schedule: '0 3 * * 0' } }),
    ["targets[0].drill: needs the target's database: a mongodb target without one dumps every database, which a drill cannot restore into one scratch database"],
  ],
  [
    "mongodb database with a dollar sign",
    (c: Draft) => Object.assign(c.targets[0], { engine: 'mongodb', database: 'app$1' }),
    ["targets[0].database: must not contain \"$\" for engine \"mongodb\" (MongoDB refuses such database names)"],
  ],
  [
    "shrink percent zero",
    (c: Draft) => (c.targets[0].shrink = { percent: 0 }),
    ["targets[0].shrink.percent: Too small: expected number to be >=1"],
  ],
  [
    "unknown shrink field",
    (c: Draft) => (c.targets[0].shrink = { bytes: 1 }),
    ["targets[0].shrink: Unrecognized key: \"bytes\""],
  ],
];

describe('config validation', () => {
  it.each(MALFORMED)('rejects %s', (_name, patch, expected) => {
    const draft = structuredClone(MINIMAL);
    patch(draft);
    expect(problemsOf(draft)).toEqual(expected);
  });

  it('reports every problem at once, in the error message too', () => {
    const draft = structuredClone(MINIMAL);
    draft.region = 'mars';
    draft.targets[0].name = 'a b';
    expect(() => parseConfig(draft, 'config file x.json')).toThrow(
      'config file x.json is invalid:\n  region: must be an AWS region like "eu-west-1"\n  targets[0].name: must be 1-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
    );
  });

  it('fills in the documented defaults', () => {
    const config = parseConfig(MINIMAL);
    expect(config).toMatchObject({
      name: 'ecs-db-backup',
      bucket: { name: 'acme-db-backups-minimal', existing: false },
      keyPrefix: 'ecs-db-backup/',
      retentionDays: 35,
      securityGroupIds: [],
      efs: { rootPath: '/ecs-db-backup', posixUid: 1000, posixGid: 1000 },
      endpoints: { s3Gateway: false, routeTableIds: [], ecs: false, ssmmessages: false, clientCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
      lambda: { timeoutSeconds: 900, memoryMb: 512, reservedConcurrency: 2, logRetentionDays: 30, fastPathSeconds: 120 },
    });
    expect(config.targets[0]).toMatchObject({
      host: '127.0.0.1',
      schedule: '0 0 * * *',
      timeZone: 'UTC',
      dumpTimeoutMinutes: 180,
      allowServiceRestart: false,
    });
    expect(config.kmsKeyArn).toBeUndefined();
    expect(config.execKmsKeys).toEqual({});
    expect(config.alarmEmail).toBeUndefined();
  });

  it('returns the config frozen', () => {
    const config = parseConfig(MINIMAL);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.targets[0])).toBe(true);
  });

  it.each(['backup.config.json', 'minimal.json', 'full.json', 'ten-targets.json'])('accepts examples/%s', (file) => {
    expect(() => loadConfigFile(join('examples', file))).not.toThrow();
  });

  it('has ten targets over two clusters in examples/ten-targets.json', () => {
    const config = loadConfigFile('examples/ten-targets.json');
    expect(config.targets).toHaveLength(10);
    expect(new Set(config.targets.map((t) => t.cluster)).size).toBe(2);
  });

  it.each([
    ['prod', 'redis', '0'],
    ['prod', 'redis', '15'],
    ['prod', 'mongodb', undefined],
  ])('accepts optional databases where the engine allows (%s %s %s)', (cluster, engine, database) => {
    const draft = structuredClone(MINIMAL);
    Object.assign(draft.targets[0], { cluster, engine });
    if (database === undefined) delete draft.targets[0].database;
    else draft.targets[0].database = database;
    expect(() => parseConfig(draft)).not.toThrow();
  });
});

describe('config file loading', () => {
  const dir = tempDir('config-test');

  it('names a file that cannot be read', () => {
    expect(() => loadConfigFile(join(dir, 'absent.json'))).toThrow(/^cannot read config file .*absent\.json: ENOENT/);
  });

  it('names a file that is not JSON', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "region": ');
    expect(() => loadConfigFile(file)).toThrow(new RegExp(`^config file ${file.replace(/[.]/g, '\\.')} is not valid JSON: `));
  });

  it.each([
    ['the flag', 'a.json', { BACKUP_CONFIG: 'b.json' }, 'a.json'],
    ['the environment', undefined, { BACKUP_CONFIG: 'b.json' }, 'b.json'],
    ['the default', undefined, {}, 'backup.config.json'],
  ])('takes the config path from %s', (_from, flag, env, expected) => {
    expect(resolveConfigPath(flag, env)).toBe(expected);
  });

  it('round-trips the targets through the targets file the function ships with', () => {
    const config = loadConfigFile('examples/full.json');
    const file = join(tempDir('targets-file'), 'backup-targets.json');
    writeFileSync(file, serializeTargets(config.targets));
    expect(readTargetsFile(file)).toEqual(config.targets);
  });
});

describe('JSON Schema', () => {
  it('is committed and up to date (npm run schema)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(renderJsonSchema());
  });

  it('describes the input: required fields only, defaults optional', () => {
    const schema = JSON.parse(renderJsonSchema()) as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required.sort()).toEqual(['bucket', 'efs', 'region', 'subnetIds', 'targets', 'vpcId']);
    expect(Object.keys(schema.properties)).toContain('$schema');
  });
});
