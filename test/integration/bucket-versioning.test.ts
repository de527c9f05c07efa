import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findVersioningProblem } from '../../functions/orchestrator/bucket-check.js';
import { readEnv } from '../../functions/orchestrator/env.js';
import { serializeTargets, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import { targetSchema, type BackupConfig } from '../../functions/shared/config/schema.js';
import { bucketVersioning } from '../../functions/shared/exec-checker/bucket-versioning.js';
import type { CheckContext } from '../../functions/shared/exec-checker/types.js';
import { buildOrchestratorBundle, invokeBundle, localLambdaEnv, metricSum } from '../helpers/lambda-runner.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';
import { tempDir } from '../helpers/temp-dir.js';

// An existing bucket's versioning, read from moto's S3 (real versioning states: never enabled,
// Suspended, Enabled) by the orchestrator bundle at cold start and by exec-check.

const targets = ['orders-pg', 'shop-mariadb'].map((name) =>
  targetSchema.parse({ name, engine: 'postgres', cluster: 'prod', service: name, container: 'db', database: 'app', backupDir: '/backup' }),
);
const BUCKETS = { enabled: 'versioned', suspended: 'suspended', never: 'never-versioned', missing: 'no-such-bucket' } as const;

let moto: MotoS3;
let bundle: string;

beforeAll(async () => {
  [moto, bundle] = await Promise.all([startMotoS3({ bucket: BUCKETS.enabled }), buildOrchestratorBundle()]);
  writeFileSync(join(dirname(bundle), TARGETS_FILE_NAME), serializeTargets(targets));
  await moto.client.send(new CreateBucketCommand({ Bucket: BUCKETS.never }));
  await moto.client.send(new CreateBucketCommand({ Bucket: BUCKETS.suspended }));
  await moto.client.send(new PutBucketVersioningCommand({ Bucket: BUCKETS.suspended, VersioningConfiguration: { Status: 'Enabled' } }));
  await moto.client.send(new PutBucketVersioningCommand({ Bucket: BUCKETS.suspended, VersioningConfiguration: { Status: 'Suspended' } }));
});

afterAll(async () => {
  await moto?.stop();
});

function lambdaEnv(bucket: string, check: boolean): Record<string, string> {
  return {
    ...localLambdaEnv({
      targetsFile: join(dirname(bundle), TARGETS_FILE_NAME),
      bucket,
      keyPrefix: 'backups/',
      efsDir: tempDir('versioning-efs'),
      fastPathSeconds: 0,
      region: 'us-east-1',
      // A status invocation reads EFS only: ECS is never called.
      ecsEndpoint: 'http://127.0.0.1:9',
      s3Endpoint: moto.endpoint,
    }),
    ...(check ? { CHECK_BUCKET_VERSIONING: '1' } : {}),
  };
}

describe('the orchestrator checks an existing bucket at cold start', () => {
  it.each([
    [BUCKETS.suspended, /bucket suspended has versioning suspended: each weekday key keeps only its latest backup, older weeks are lost; enable versioning: aws s3api put-bucket-versioning --bucket suspended/],
    [BUCKETS.never, /bucket never-versioned has never had versioning enabled/],
    [BUCKETS.missing, /cannot read the versioning of bucket no-such-bucket: .*; the orchestrator's role needs s3:GetBucketVersioning on it/],
  ])('says so for bucket %s: an error log line and BucketVersioningDisabled for every target', async (bucket, message) => {
    const run = await invokeBundle(bundle, { action: 'status' }, lambdaEnv(bucket, true)).done;
    expect(run.error).toBeNull();
    const errors = run.logs.filter((l) => l.level === 'ERROR');
    expect(errors.map((l) => l.message)).toEqual([expect.stringMatching(message)]);
    expect(errors[0]?.bucket).toBe(bucket);
    for (const t of targets) expect(metricSum(run, 'BucketVersioningDisabled', t.name)).toBe(1);
  });

  it('says nothing for a versioned bucket', async () => {
    const run = await invokeBundle(bundle, { action: 'status' }, lambdaEnv(BUCKETS.enabled, true)).done;
    expect(run.error).toBeNull();
    expect(run.logs.filter((l) => l.level === 'ERROR')).toEqual([]);
    expect(metricSum(run, 'BucketVersioningDisabled', 'orders-pg')).toBe(0);
  });

  it('does not look without CHECK_BUCKET_VERSIONING (a bucket the stack created and versions)', async () => {
    const run = await invokeBundle(bundle, { action: 'status' }, lambdaEnv(BUCKETS.never, false)).done;
    expect(run.error).toBeNull();
    expect(run.logs.filter((l) => l.level === 'ERROR')).toEqual([]);
    expect(metricSum(run, 'BucketVersioningDisabled', 'orders-pg')).toBe(0);
  });

  it('finds the problem through the adapter the handler uses', async () => {
    const env = readEnv(lambdaEnv(BUCKETS.suspended, true));
    expect(await findVersioningProblem({ env, s3: moto.client })).toMatchObject({ problem: 'bucket suspended has versioning suspended: each weekday key keeps only its latest backup, older weeks are lost' });
    expect(await findVersioningProblem({ env: { ...env, bucket: BUCKETS.enabled }, s3: moto.client })).toBeNull();
  });
});

describe('exec-check checks an existing bucket', () => {
  const context = (bucket: string, existing: boolean) =>
    ({ clients: { s3: moto.client }, backup: { config: { bucket: { name: bucket, existing } } as BackupConfig } }) as unknown as CheckContext;

  it.each([
    [BUCKETS.enabled, 'green', 'versioned: versioning enabled', undefined],
    [BUCKETS.suspended, 'red', 'bucket suspended has versioning suspended: each weekday key keeps only its latest backup, older weeks are lost', 'enable versioning: aws s3api put-bucket-versioning --bucket suspended --versioning-configuration Status=Enabled'],
    [BUCKETS.never, 'red', 'bucket never-versioned has never had versioning enabled: each weekday key keeps only its latest backup, older weeks are lost', 'enable versioning: aws s3api put-bucket-versioning --bucket never-versioned --versioning-configuration Status=Enabled'],
  ])('reports bucket %s as %s', async (bucket, verdict, message, fix) => {
    expect(await bucketVersioning(context(bucket, true))).toEqual([
      { check: 'bucket-versioning', title: `Bucket versioning (${bucket})`, verdict, message, ...(fix === undefined ? {} : { fix }) },
    ]);
  });

  it('names the permission when it cannot read the versioning', async () => {
    const [line] = await bucketVersioning(context(BUCKETS.missing, true));
    expect(line).toMatchObject({ verdict: 'red', message: expect.stringMatching(/^cannot read the versioning of bucket no-such-bucket: /), fix: expect.stringContaining('s3:GetBucketVersioning') });
  });

  it('leaves a bucket the stack created to the stack', async () => {
    expect(await bucketVersioning(context(BUCKETS.never, false))).toEqual([]);
  });
});
