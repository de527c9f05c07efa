import { GetBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeTargets } from '../../functions/shared/config/load.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { tempDir } from '../helpers/temp-dir.js';

// The handler reads an existing bucket's versioning once per cold start (one module instance here),
// and reports a problem on every invocation while the container lives.

const s3 = mockClient(S3Client);
const saved = { ...process.env };
const written: string[] = [];

beforeAll(() => {
  const target = targetSchema.parse({ name: 'orders-pg', engine: 'postgres', cluster: 'prod', service: 'db', container: 'db', database: 'app', backupDir: '/backup' });
  const targetsFile = join(tempDir('bucket-check-code'), 'backup-targets.json');
  writeFileSync(targetsFile, serializeTargets([target]));
  Object.assign(process.env, {
    BACKUP_TARGETS_FILE: targetsFile,
    BUCKET: 'shared-backups',
    KEY_PREFIX: 'backups/',
    EFS_MOUNT_PATH: tempDir('bucket-check-efs'),
    CHECK_BUCKET_VERSIONING: '1',
    AWS_REGION: 'eu-west-1',
    // Powertools then writes through the global console (spied on below) instead of its own.
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Suspended' });
  for (const method of ['log', 'info', 'warn', 'error'] as const) vi.spyOn(console, method).mockImplementation((line: unknown) => void written.push(String(line)));
});

afterAll(() => {
  vi.restoreAllMocks();
  s3.restore();
  process.env = saved;
});

describe('the versioning check of an existing bucket', () => {
  it('asks S3 once per cold start and reports on every invocation', async () => {
    const { handler } = await import('../../functions/orchestrator/handler.js');
    const context = { getRemainingTimeInMillis: () => 60_000 };
    await handler({ action: 'status' }, context);
    await handler({ action: 'status' }, context);
    expect(s3.commandCalls(GetBucketVersioningCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: 'shared-backups' }]);
    const lines = written.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.level === 'ERROR').map((l) => l.message)).toEqual([
      expect.stringContaining('bucket shared-backups has versioning suspended'),
      expect.stringContaining('bucket shared-backups has versioning suspended'),
    ]);
    expect(lines.filter((l) => l.BucketVersioningDisabled === 1 && l.target === 'orders-pg')).toHaveLength(2);
  });
});
