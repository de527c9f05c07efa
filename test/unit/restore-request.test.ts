import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../functions/orchestrator/events.js';
import { restoreRefusal } from '../../functions/orchestrator/restore/restore-workflow.js';
import { targetSchema } from '../../functions/shared/config/schema.js';

describe('parseEvent for restores and drills', () => {
  it.each([
    [{ action: 'restore', target: 'pg', backup: 'latest' }, { action: 'restore', target: 'pg', backup: 'latest', overwrite: false, verify: false }],
    [
      { action: 'restore', target: 'pg', backup: { versionId: 'v1' }, intoDatabase: 'app_copy', overwrite: true, runId: '20261122T040000Z-0123ab' },
      { action: 'restore', target: 'pg', backup: { versionId: 'v1' }, intoDatabase: 'app_copy', overwrite: true, verify: false, runId: '20261122T040000Z-0123ab' },
    ],
    [
      { action: 'restore', target: 'pg', backup: 'latest', from: { bucket: 'backups-replica', region: 'eu-central-1' } },
      { action: 'restore', target: 'pg', backup: 'latest', overwrite: false, verify: false, from: { bucket: 'backups-replica', region: 'eu-central-1' } },
    ],
    [{ action: 'drill', target: 'pg' }, { action: 'drill', target: 'pg' }],
  ])('accepts %j', (event, parsed) => {
    expect(parseEvent(event)).toEqual(parsed);
  });

  it.each([
    [{ action: 'restore', target: 'pg' }, /invalid restore event: backup: /],
    [{ action: 'restore', target: 'pg', backup: 'someday' }, /invalid restore event: backup: /],
    [{ action: 'restore', target: 'pg', backup: 'monday', intoDatabase: 'a;drop' }, /intoDatabase: must be 1-63 letters/],
    [{ action: 'restore', target: 'pg', backup: 'monday', overwrite: 'yes' }, /overwrite: /],
    [{ action: 'restore', target: 'pg', backup: 'monday', runId: '../x' }, /runId: must be a run id/],
    [{ action: 'restore', target: 'pg', backup: 'monday', force: true }, /invalid restore event: .*force/],
    [{ action: 'drill', target: 'pg', backup: 'monday' }, /invalid drill event: .*backup/],
    [{ action: 'restore', target: 'pg', backup: 'monday', from: { bucket: 'Bad_Bucket', region: 'eu-central-1' } }, /from\.bucket: must be a valid S3 bucket name/],
    [{ action: 'restore', target: 'pg', backup: 'monday', from: { bucket: 'backups-replica', region: 'mars' } }, /from\.region: must be an AWS region/],
    [{ action: 'restore', target: 'pg', backup: 'monday', from: { bucket: 'backups-replica', region: 'eu-central-1', endpoint: 'http://x' } }, /from: .*endpoint/],
  ])('rejects %j', (event, message) => {
    expect(() => parseEvent(event)).toThrow(message);
  });
});

describe('restoreRefusal', () => {
  const pg = targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });
  const mongoAll = targetSchema.parse({ name: 'mg', engine: 'mongodb', cluster: 'c', service: 's', container: 'k', backupDir: '/backup' });
  const redis = targetSchema.parse({ name: 'cache', engine: 'redis', cluster: 'c', service: 's', container: 'k', backupDir: '/backup' });

  it.each([
    ['the live database by default', pg, {}, /refusing to restore into the live database "app" of target "pg"/],
    ['the live database by name', pg, { intoDatabase: 'app' }, /live database "app"/],
    ['every database of a mongodb server', mongoAll, {}, /refusing to restore into every database of the server of target "mg"/],
  ])('refuses %s without overwrite', (_case, target, request, message) => {
    expect(restoreRefusal(target, { overwrite: false, ...request })).toMatch(message);
  });

  it.each([
    ['another database', pg, { intoDatabase: 'app_copy', overwrite: false }],
    ['the live database with overwrite', pg, { overwrite: true }],
    ['redis without overwrite (it only stages a copy)', redis, { overwrite: false }],
  ])('allows %s', (_case, target, request) => {
    expect(restoreRefusal(target, request)).toBeNull();
  });
});
