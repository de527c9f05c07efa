import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../functions/orchestrator/env.js';
import { serializeTargets } from '../../functions/shared/config/load.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { ConfigError } from '../../functions/shared/errors.js';
import { tempDir } from '../helpers/temp-dir.js';

const targets = [targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'db', database: 'app', backupDir: '/backup' })];
/** The function's code directory, as Lambda unpacks it: the targets file next to the handler. */
const codeDir = tempDir('orchestrator-code');
writeFileSync(join(codeDir, 'backup-targets.json'), serializeTargets(targets));
const env = (over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
  LAMBDA_TASK_ROOT: codeDir,
  BACKUP_TARGETS_FILE: 'backup-targets.json',
  BUCKET: 'backups',
  KEY_PREFIX: 'ecs-db-backup/',
  EFS_MOUNT_PATH: '/mnt/backup',
  ...over,
});

describe('readEnv', () => {
  it('reads the settings with their defaults', () => {
    expect(readEnv(env())).toEqual({
      deploymentName: 'ecs-db-backup',
      targets,
      bucket: 'backups',
      keyPrefix: 'ecs-db-backup/',
      efsMountPath: '/mnt/backup',
      fastPathSeconds: 120,
      kmsKeyArn: undefined,
      partSizeBytes: undefined,
      s3ForcePathStyle: false,
      checkBucketVersioning: false,
      replica: undefined,
    });
  });

  it('reads the replica a restore may read from', () => {
    expect(readEnv(env({ REPLICA_BUCKET: 'backups-replica', REPLICA_REGION: 'eu-central-1' })).replica).toEqual({ bucket: 'backups-replica', region: 'eu-central-1' });
  });

  it('takes the deployment name from the metrics service the stack sets', () => {
    expect(readEnv(env({ POWERTOOLS_SERVICE_NAME: 'staging' })).deploymentName).toBe('staging');
  });

  it('accepts an empty key prefix and reads the optional knobs', () => {
    const read = readEnv(env({ KEY_PREFIX: '', FAST_PATH_SECONDS: '0', UPLOAD_PART_SIZE_MB: '5', S3_FORCE_PATH_STYLE: '1', KMS_KEY_ARN: 'arn:k', CHECK_BUCKET_VERSIONING: '1' }));
    expect(read).toMatchObject({ keyPrefix: '', fastPathSeconds: 0, partSizeBytes: 5 * 1024 * 1024, s3ForcePathStyle: true, kmsKeyArn: 'arn:k', checkBucketVersioning: true });
  });

  it.each([
    { name: 'BUCKET', over: { BUCKET: undefined }, message: /environment variable BUCKET is missing/ },
    { name: 'KEY_PREFIX', over: { KEY_PREFIX: undefined }, message: /environment variable KEY_PREFIX is missing/ },
    { name: 'EFS_MOUNT_PATH', over: { EFS_MOUNT_PATH: '' }, message: /environment variable EFS_MOUNT_PATH is missing/ },
    { name: 'BACKUP_TARGETS_FILE', over: { BACKUP_TARGETS_FILE: undefined }, message: /environment variable BACKUP_TARGETS_FILE is missing/ },
    { name: 'FAST_PATH_SECONDS', over: { FAST_PATH_SECONDS: 'soon' }, message: /FAST_PATH_SECONDS must be an integer from 0 to 600, got "soon"/ },
    { name: 'UPLOAD_PART_SIZE_MB', over: { UPLOAD_PART_SIZE_MB: '4' }, message: /UPLOAD_PART_SIZE_MB must be an integer from 5 to 5120/ },
    { name: 'REPLICA_REGION', over: { REPLICA_BUCKET: 'backups-replica' }, message: /environment variable REPLICA_REGION is missing while the other is set/ },
    { name: 'REPLICA_BUCKET', over: { REPLICA_REGION: 'eu-central-1' }, message: /environment variable REPLICA_BUCKET is missing while the other is set/ },
  ])('names $name when it is missing or bad', ({ over, message }) => {
    expect(() => readEnv(env(over))).toThrow(ConfigError);
    expect(() => readEnv(env(over))).toThrow(message);
  });

  it("reads the targets' staleness limits the stack packages with them for the fleet alarm", () => {
    writeFileSync(join(codeDir, 'fleet.json'), serializeTargets(targets, { pg: 29 }));
    expect(readEnv(env({ BACKUP_TARGETS_FILE: 'fleet.json' }))).toMatchObject({ targets, ageLimitHours: { pg: 29 } });
    expect(readEnv(env()).ageLimitHours).toBeUndefined();
  });

  it.each([
    ['has no staleness limit for a target', JSON.stringify({ targets, ageLimitHours: {} }), /^the targets file \S+ is invalid:\n {2}ageLimitHours: has no limit for target "pg"$/],
    ['has a staleness limit for no target', JSON.stringify({ targets, ageLimitHours: { pg: 29, gone: 29 } }), /^the targets file \S+ is invalid:\n {2}ageLimitHours\.gone: is not a target$/],
    ['has a staleness limit under an hour', JSON.stringify({ targets, ageLimitHours: { pg: 0 } }), /ageLimitHours\.pg: Too small/],
    ['is missing from the code', null, /^cannot read the targets file \S+\/absent\.json: ENOENT.*: redeploy the stack, which packages it with the function$/],
    ['is not JSON', '{"targets": [', /^the targets file \S+ is not valid JSON: .*: redeploy the stack$/],
    ['holds a target the schema refuses', JSON.stringify({ targets: [{ ...targets[0], backupDir: 'relative' }] }), /^the targets file \S+ is invalid:\n {2}targets\[0\]\.backupDir: must be an absolute path/],
    ['holds no targets', JSON.stringify({ targets: [] }), /targets: Too small/],
    ['is the old format (a bare list)', JSON.stringify(targets), /^the targets file \S+ is invalid:\n {2}\(root\): Invalid input: expected object, received array$/],
  ])('fails clearly when the targets file %s', (_case, content, message) => {
    const file = content === null ? 'absent.json' : 'bad.json';
    if (content !== null) writeFileSync(join(codeDir, file), content);
    expect(() => readEnv(env({ BACKUP_TARGETS_FILE: file }))).toThrow(ConfigError);
    expect(() => readEnv(env({ BACKUP_TARGETS_FILE: file }))).toThrow(message);
  });
});
