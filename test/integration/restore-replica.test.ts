import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerEnv, KEY_PREFIX } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * A restore from the replica bucket in the second region (`npm run restore -- --region <replica region>`): the
 * backup is only in the replica (the source bucket lost it), the CLI names the replica, the built orchestrator
 * reads it with a client signed for the replica region and restores it into a real PostgreSQL 15, exactly. A
 * request naming any other bucket or region, or a deployment without replication, is refused before anything
 * is read or locked, and the live database is still never overwritten without --overwrite.
 *
 * moto serves every region on one endpoint, but has no replication (gap): the test copies the backup and its
 * manifest into the replica bucket itself, and the manifest names the replica's version id, as S3 replication
 * keeps the source's version ids (moto's copy makes new ones).
 */

const REPLICA = 'backups-replica';
const REPLICA_REGION = 'eu-central-1';
const REPLICA_ENV = { REPLICA_BUCKET: REPLICA, REPLICA_REGION };
const TARGET = { name: 'pg', engine: 'postgres', service: 'postgres', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD' };

let w: RestoreHarness;
let pg: PostgresServer;
let backedUp: Record<string, string>;

/** The bytes of the source's current object. */
async function sourceBytes(key: string): Promise<Buffer> {
  const res = await w.h.s3.client.send(new GetObjectCommand({ Bucket: w.h.s3.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/**
 * What S3 replication does for one object: the same bytes in the replica bucket (moto: under a new version id). Not
 * CopyObject: moto's copy of a multipart object keeps a checksum header that does not match the copied bytes.
 */
async function replicate(key: string, body: Buffer): Promise<string> {
  return (await w.h.s3.client.send(new PutObjectCommand({ Bucket: REPLICA, Key: key, Body: body }))).VersionId!;
}

/** Deletes every version under the prefix in the source bucket: the source lost its backups. */
async function emptySource(): Promise<void> {
  const s3 = w.h.s3.client;
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: w.h.s3.bucket, Prefix: KEY_PREFIX }));
  for (const v of [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]) {
    await s3.send(new DeleteObjectCommand({ Bucket: w.h.s3.bucket, Key: v.Key!, VersionId: v.VersionId! }));
  }
}

beforeAll(async () => {
  [w, pg] = await startAll([startRestoreHarness({ env: REPLICA_ENV }), startPostgres()]);
  await w.h.s3.client.send(new CreateBucketCommand({ Bucket: REPLICA, CreateBucketConfiguration: { LocationConstraint: REPLICA_REGION } }));
  await w.h.s3.client.send(new PutBucketVersioningCommand({ Bucket: REPLICA, VersioningConfiguration: { Status: 'Enabled' } }));
  await pg.createDatabase('app');
  await pg.psql('app', `CREATE SCHEMA "Ünïcødé";
    CREATE TABLE "Ünïcødé"."Tæbla ✓" (id int PRIMARY KEY, "Kolumn ß" text, doc jsonb);
    INSERT INTO "Ünïcødé"."Tæbla ✓" SELECT g, 'wert ' || g || ' Ωμέγα ☃', jsonb_build_object('n', g) FROM generate_series(1, 2000) g;`);
  w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  w.h.setTargets([{ ...TARGET, port: pg.port }]);
  w.writeConfig([{ ...TARGET, port: pg.port }], { replication: { region: REPLICA_REGION, bucketName: REPLICA } });
  const { key } = await w.backup('pg');
  backedUp = await pg.tableChecksums('app');
  const dumpVersion = await replicate(key, await sourceBytes(key));
  const manifestKey = key.replace(/\.pgdump$/, '.json');
  const manifest = JSON.parse((await sourceBytes(manifestKey)).toString('utf8')) as Record<string, unknown>;
  await replicate(manifestKey, Buffer.from(JSON.stringify({ ...manifest, objectVersionId: dumpVersion })));
  await emptySource();
  await pg.psql('app', `UPDATE "Ünïcødé"."Tæbla ✓" SET doc = '{}' WHERE id > 1000;`);
}, 240_000);

afterAll(async () => {
  await Promise.all([w?.stop(), pg?.stop()]);
});

describe('restore from the replica', () => {
  it('has the backup in the replica only', async () => {
    expect((await w.cli(['--target', 'pg', '--list'])).stdout).toBe('no backups\n');
    expect((await w.cli(['--target', 'pg', '--list', '--region', REPLICA_REGION])).stdout).toMatch(/^\w+day\s+\S+ \S+\s+.*current, latest$/m);
  });

  it('restores the replica\'s backup into a new database, exactly, reading the replica with a client of its region', async () => {
    w.h.proxy.seen.length = 0;
    const r = await w.cli(['--target', 'pg', '--region', REPLICA_REGION, '--into', 'app_from_replica']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^restore \\S+ of ${KEY_PREFIX}pg/\\w+\\.pgdump \\(version \\S+\\) from s3://${REPLICA} into app_from_replica$`, 'm'));
    expect(r.stdout).toMatch(/^restored \S+ \(version \S+\) into app_from_replica \(run \S+\)$/m);
    expect(await pg.tableChecksums('app_from_replica')).toEqual(backedUp);
    const reads = w.h.proxy.seen.filter((s) => s.url.startsWith(`/${REPLICA}/`) && s.method === 'GET');
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads.map((s) => s.signedRegion))).toEqual(new Set([REPLICA_REGION]));
  });

  it('still refuses to overwrite the live database without --overwrite', async () => {
    const before = await pg.tableChecksums('app');
    const r = await w.cli(['--target', 'pg', '--region', REPLICA_REGION]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would replace its data: restore into another database with --into NAME, or pass --overwrite/);
    const direct = await w.run({ action: 'restore', target: 'pg', backup: 'latest', from: { bucket: REPLICA, region: REPLICA_REGION } });
    expect(direct.error?.message).toMatch(/refusing to restore into the live database "app" of target "pg"/);
    expect(await pg.tableChecksums('app')).toEqual(before);
  });

  it.each([
    ['another bucket', { from: { bucket: 'someone-elses-backups', region: REPLICA_REGION } }, {}, `a restore reads s3://backups or the replica s3://${REPLICA} in ${REPLICA_REGION} only, not s3://someone-elses-backups in ${REPLICA_REGION}`],
    ['the replica in another region', { from: { bucket: REPLICA, region: 'us-west-2' } }, {}, `a restore reads s3://backups or the replica s3://${REPLICA} in ${REPLICA_REGION} only, not s3://${REPLICA} in us-west-2`],
    ['the replica where replication is not configured', { from: { bucket: REPLICA, region: REPLICA_REGION } }, { REPLICA_BUCKET: '', REPLICA_REGION: '' }, "this deployment has no replica (replication is not configured), so it restores from s3://backups only: leave the request's from field out (restore without --region)"],
  ])('refuses a request naming %s before reading or locking anything', async (_case, from, env, message) => {
    w.h.proxy.seen.length = 0;
    const run = await w.run({ action: 'restore', target: 'pg', backup: 'latest', intoDatabase: 'app_refused', ...from }, env);
    expect(run.error?.message).toBe(message);
    expect(w.h.proxy.seen).toEqual([]);
    expect(existsSync(join(w.h.efsDir, 'pg', 'run.json'))).toBe(false);
  });

  it('refuses a --region that is neither the bucket\'s nor the replica\'s', async () => {
    const r = await w.cli(['--target', 'pg', '--region', 'us-west-2', '--into', 'app_x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--region must be us-east-1 or eu-central-1/);
  });
});
