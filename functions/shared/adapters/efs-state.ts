import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { BackupError } from '../errors.js';
import { writeJsonAtomic } from './atomic-json.js';
import { readInside, statInside } from './efs-no-follow.js';
import { removeInside } from './efs-remove-inside.js';
import { parseRunRecord, RunRecordError, type RunRecord } from '../core/run-record.js';

/**
 * Per-target state on the backup EFS (node:fs on the Lambda's mount path):
 * `<root>/<target>/run.json` (the lock and the run's phase), `<root>/<target>/<runId>/` (the run
 * directory the container writes: dump, log, done.gz, job.sh; plus upload.json, the upload progress)
 * and `<root>/<target>/last-failure.json` (the slot whose run failed, so it is not retried hourly).
 * Every file is read through efs-no-follow: the target's container can write anything below its directory,
 * links included, and a link is never followed.
 */

/** The file system is full: the dump or the state cannot be written. */
export class EfsFullError extends BackupError {}

/** Name of the run record in a target's directory. */
export const RUN_FILE = 'run.json';
/** Name of the last-failure record in a target's directory. */
export const LAST_FAILURE_FILE = 'last-failure.json';
/** Name of the upload progress file in a run directory. */
export const UPLOAD_PROGRESS_FILE = 'upload.json';
/** Name of the lease file in a target's directory: which invocation is working on the run, until when. */
export const LEASE_FILE = 'lease.json';

/** Schema of last-failure.json. */
export const lastFailureSchema = z.object({
  runId: z.string(),
  slot: z.iso.datetime({ offset: true }).nullable(),
  at: z.iso.datetime({ offset: true }),
  reason: z.string(),
});

/** The last failed run of a target. */
export type LastFailure = z.infer<typeof lastFailureSchema>;

/** What run.json holds: nothing, a valid record, or something unreadable (with its age, to tell a crash from a writer). */
export type RunFileState = { state: 'none' } | { state: 'ok'; record: RunRecord } | { state: 'corrupt'; reason: string; ageMs: number };

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Most bytes of a state file (run.json, lease, last failure, upload progress): far above what a real one holds. */
export const MAX_STATE_FILE_BYTES = 4 * 1024 * 1024;
/** Most bytes of a probe file: the exec-checker writes 16 hex digits. */
export const MAX_PROBE_FILE_BYTES = 256;
/** What a probe file is called: the exec-checker's `.probe-<random>`, nothing else. */
export const PROBE_FILE_PATTERN = /^\.probe-[A-Za-z0-9_-]{1,64}$/;

/** A lease tombstone older than this belongs to a taker that died while breaking the lease. */
const TOMBSTONE_STALE_MS = 60_000;

function translate(error: unknown, what: string): never {
  if (code(error) === 'ENOSPC' || code(error) === 'EDQUOT') {
    throw new EfsFullError(`the backup EFS is full while ${what}: free space or raise its limits`, { cause: error });
  }
  throw error;
}

/** Reads and writes one EFS mount's per-target state. */
export class EfsState {
  constructor(
    /** The mount path of the backup access point (EFS_MOUNT_PATH). */
    readonly root: string,
  ) {}

  /** `<root>/<target>`. */
  targetDir(target: string): string {
    return join(this.root, target);
  }

  /** `<root>/<target>/<runId>`. */
  runDir(target: string, runId: string): string {
    return join(this.root, target, runId);
  }

  /** Reads run.json. */
  async readRun(target: string, now: Date): Promise<RunFileState> {
    const path = join(this.targetDir(target), RUN_FILE);
    const bytes = await this.readTargetFile(target, path, MAX_STATE_FILE_BYTES);
    if (bytes === null) return { state: 'none' };
    try {
      return { state: 'ok', record: parseRunRecord(bytes.toString('utf8')) };
    } catch (error) {
      if (!(error instanceof RunRecordError)) throw error;
      const info = await statInside(this.targetDir(target), path).catch(() => null);
      return { state: 'corrupt', reason: error.message, ageMs: info ? now.getTime() - info.mtimeMs : 0 };
    }
  }

  /**
   * Takes the target's lock: creates run.json only if there is none. Returns false when another run holds it.
   * The content goes to a temporary file first and is hard-linked into place: link() fails with EEXIST like an
   * open with 'wx', but a reader never sees a half-written record (EFS supports hard links).
   */
  async createRun(record: RunRecord): Promise<boolean> {
    const dir = this.targetDir(record.target);
    const tmp = join(dir, `.${RUN_FILE}.${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
      try {
        await link(tmp, join(dir, RUN_FILE));
        return true;
      } catch (error) {
        if (code(error) === 'EEXIST') return false;
        throw error;
      }
    } catch (error) {
      return translate(error, 'taking the run lock');
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Replaces run.json atomically (write a temporary file, then rename). */
  async writeRun(record: RunRecord): Promise<void> {
    await this.writeJsonAtomic(record.target, RUN_FILE, record, 'recording the run');
  }

  /** Removes a run: its directory, then run.json (the lock goes last so nobody starts while files are deleted). */
  async removeRun(target: string, runId: string | null): Promise<void> {
    if (runId !== null) await this.removeRunDir(target, runId);
    await this.releaseRun(target);
  }

  /** Removes a run directory and everything in it, following no link (the container may plant them while it runs). */
  async removeRunDir(target: string, runId: string): Promise<void> {
    await removeInside(this.targetDir(target), this.runDir(target, runId));
  }

  /** Deletes run.json: the lock is free. */
  async releaseRun(target: string): Promise<void> {
    await rm(join(this.targetDir(target), LEASE_FILE), { force: true });
    await rm(join(this.targetDir(target), RUN_FILE), { force: true });
  }

  /**
   * Takes the lease on a run until `until` (the invocation's end), so two invocations never poll and upload
   * the same run at once. A lease whose time is up (its Lambda was killed) is taken over by one taker only.
   * Returns false while another invocation holds it.
   */
  async takeLease(target: string, runId: string, until: Date, now: Date): Promise<boolean> {
    const path = join(this.targetDir(target), LEASE_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      // The nonce makes every lease's text unique, so a taker can tell the expired lease it saw from a new one.
      const lease = JSON.stringify({ runId, until: until.toISOString(), nonce: randomBytes(6).toString('hex') });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, lease, { flag: 'wx' });
        await link(tmp, path);
        return true;
      } catch (error) {
        if (code(error) !== 'EEXIST') return translate(error, 'taking the run lease');
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      const held = (await this.readTargetFile(target, path, MAX_STATE_FILE_BYTES).catch(() => null))?.toString('utf8') ?? null;
      // Gone meanwhile: try the exclusive link again.
      if (held === null) continue;
      const heldUntil = Date.parse((parseJson(held) as { until?: string } | null)?.until ?? '');
      if (!Number.isNaN(heldUntil) && heldUntil > now.getTime()) return false;
      await this.breakExpiredLease(target, path, held);
    }
    return false;
  }

  /**
   * Removes the expired lease whose text is `expired`, unless another taker is doing so or has already replaced it.
   * Deleting by path alone would let a slow taker delete the lease a faster one has just taken: the one taker that
   * creates the expired lease's tombstone (a hard link named after its text) may delete it, and only when the
   * tombstone shows the expired text (the link names whatever lease is in place at that moment).
   */
  private async breakExpiredLease(target: string, path: string, expired: string): Promise<void> {
    const tomb = `${path}.${createHash('sha256').update(expired).digest('hex').slice(0, 16)}.expired`;
    try {
      await link(path, tomb);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      if (code(error) !== 'EEXIST') return translate(error, 'taking over an expired run lease');
      // A tombstone left by a breaker that died would block the run forever; linking set its ctime (a file-system time, so Date.now()).
      const info = await lstat(tomb).catch(() => null);
      if (info && Date.now() - info.ctimeMs > TOMBSTONE_STALE_MS) await unlink(tomb).catch(() => undefined);
      return;
    }
    try {
      if ((await this.readTargetFile(target, tomb, MAX_STATE_FILE_BYTES))?.toString('utf8') === expired) await rm(path, { force: true });
    } finally {
      await unlink(tomb).catch(() => undefined);
    }
  }

  /** Gives the lease back. */
  async releaseLease(target: string): Promise<void> {
    await rm(join(this.targetDir(target), LEASE_FILE), { force: true });
  }

  /** Deletes leftovers of earlier runs (run directories whose run.json is gone); call only while holding the lock. */
  async sweep(target: string, keepRunId: string): Promise<string[]> {
    const keep = new Set([RUN_FILE, LAST_FAILURE_FILE, LEASE_FILE, keepRunId]);
    const names = await readdir(this.targetDir(target)).catch(() => [] as string[]);
    const removed = names.filter((n) => !keep.has(n) && !n.startsWith(`.${RUN_FILE}.`));
    await Promise.all(removed.map((n) => removeInside(this.targetDir(target), join(this.targetDir(target), n))));
    return removed;
  }

  /** Reads last-failure.json; an unreadable one counts as none (it only throttles retries). */
  async readLastFailure(target: string): Promise<LastFailure | null> {
    try {
      const bytes = await this.readTargetFile(target, join(this.targetDir(target), LAST_FAILURE_FILE), MAX_STATE_FILE_BYTES);
      if (bytes === null) return null;
      const parsed = lastFailureSchema.safeParse(JSON.parse(bytes.toString('utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** Writes last-failure.json atomically. */
  async writeLastFailure(target: string, failure: LastFailure): Promise<void> {
    await mkdir(this.targetDir(target), { recursive: true }).catch((e: unknown) => translate(e, 'recording a failure'));
    await this.writeJsonAtomic(target, LAST_FAILURE_FILE, failure, 'recording a failure');
  }

  /** Reads a file of a run directory (at most `maxBytes`), or null when it does not exist; never through a link. */
  async readRunFile(target: string, runId: string, name: string, maxBytes: number = MAX_STATE_FILE_BYTES): Promise<Buffer | null> {
    return this.readTargetFile(target, join(this.runDir(target, runId), name), maxBytes);
  }

  /** Size of a regular file of a run directory, or null when it does not exist; never a link's target. */
  async runFileSize(target: string, runId: string, name: string): Promise<number | null> {
    return (await statInside(this.targetDir(target), join(this.runDir(target, runId), name)))?.size ?? null;
  }

  /**
   * Reads the probe file `<root>/<target>/<file>` the exec-checker wrote from the target's container, or null when
   * absent. Only a regular file named `.probe-<id>` of at most MAX_PROBE_FILE_BYTES: the probe exists to show that
   * the Lambda sees what the container wrote, not to read anything else.
   */
  async readProbeFile(target: string, file: string): Promise<string | null> {
    if (!PROBE_FILE_PATTERN.test(file)) throw new BackupError(`probe file "${file}" is not named like ".probe-1a2b3c"`);
    return (await this.readTargetFile(target, join(this.targetDir(target), file), MAX_PROBE_FILE_BYTES))?.toString('utf8') ?? null;
  }

  /** Reads `path`, which must lie in the target's directory, without following links; null when absent. */
  private async readTargetFile(target: string, path: string, maxBytes: number): Promise<Buffer | null> {
    return readInside(this.targetDir(target), path, maxBytes);
  }

  private async writeJsonAtomic(target: string, name: string, value: unknown, what: string): Promise<void> {
    const dir = this.targetDir(target);
    await writeJsonAtomic(join(dir, name), value, dir).catch((error: unknown) => translate(error, what));
  }
}
