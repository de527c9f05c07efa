import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadEarlyParts } from '../../functions/orchestrator/backup/upload-step.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { Semaphore } from '../../functions/orchestrator/semaphore.js';
import { EfsState } from '../../functions/shared/adapters/efs-state.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { startingRecord, type RunRecord } from '../../functions/shared/core/run-record.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';

/**
 * The sender of early parts (issue #11 item 10): a growing dump the job promotes (renames) or removes between two
 * looks is the normal end of a dump, not a problem to log; a real failure still warns.
 */

const MiB = 1024 * 1024;
const target = targetSchema.parse({ name: 'cache', engine: 'redis', cluster: 'c', service: 's', container: 'k', backupDir: '/backup' });
let s3: MotoS3;
let root: string;

beforeAll(async () => {
  s3 = await startMotoS3();
  root = await mkdtemp(join(tmpdir(), 'early-parts-'));
});
afterAll(async () => {
  await s3?.stop();
  await rm(root, { recursive: true, force: true });
});

type Logged = { level: string; message: string };

/** Deps whose upload slot runs `before` first: what the job does while the sender is about to read. */
function deps(logged: Logged[], bucket: string, before: () => Promise<void>): Deps {
  const slots = new Semaphore(1);
  const log = (level: string) => (message: string) => logged.push({ level, message });
  return {
    env: { bucket, keyPrefix: 'p/', fastPathSeconds: 0 },
    s3: s3.client,
    state: new EfsState(root),
    telemetry: { logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }, emit: () => undefined },
    uploadSlots: { tryUse: async <T>(work: () => Promise<T>) => { await before(); return slots.tryUse(work); } },
    deadline: Date.now() + 60_000,
    now: () => new Date(),
    sleep: async () => undefined,
  } as unknown as Deps;
}

async function growingDump(runId: string): Promise<{ run: RunRecord; tmp: string }> {
  const run = { ...startingRecord({ kind: 'backup', runId, target: 'cache', now: new Date(), slot: null }), phase: 'running' as const };
  const dir = join(root, 'cache', runId);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, 'dump.rdb.tmp');
  await writeFile(tmp, randomBytes(9 * MiB));
  return { run, tmp };
}

describe('uploadEarlyParts', () => {
  it('says nothing alarming when the job promotes the growing dump before its parts are read', async () => {
    const { run, tmp } = await growingDump('20261122T050000Z-aaaaaa');
    const logged: Logged[] = [];

    const whole = await uploadEarlyParts(deps(logged, s3.bucket, () => rename(tmp, tmp.replace(/\.tmp$/, ''))), target, run, 0);

    expect(whole).toBe(1);
    expect(logged.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('still warns when sending the parts fails', async () => {
    const { run } = await growingDump('20261122T050000Z-bbbbbb');
    const logged: Logged[] = [];

    await uploadEarlyParts(deps(logged, 'no-such-bucket', async () => undefined), target, run, 0);

    expect(logged.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'sending parts of the growing dump failed; the upload after done.gz sends them',
    ]);
  });
});
