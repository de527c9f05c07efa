import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/orchestrator-harness.js';

// What a compromised database container can plant on its part of the backup EFS, played against the built
// Lambda bundle: the container's writes are plain files and links in the harness's EFS directory.

/** Stands for the Lambda's credentials in its environment: whatever reads /proc/self/environ sees it. */
const CANARY = 'canary-secret-3f9a1c7e';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.setTargets([{ name: 'orders', engine: 'postgres', service: 'orders', container: 'orders', database: 'app' }]);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

describe('the probe', () => {
  it("never returns the Lambda's environment through a link to /proc/self/environ", async () => {
    await symlink('/proc/self/environ', join(h.efsDir, '.probe-x'));
    await mkdir(join(h.efsDir, 'orders'), { recursive: true });
    await symlink('/proc/self/environ', join(h.efsDir, 'orders', '.probe-x'));
    const run = await h.run({ action: 'probe', target: 'orders', file: '.probe-x' }, { env: { AWS_SECRET_ACCESS_KEY: CANARY } });
    expect(JSON.stringify(run.result ?? run.error)).not.toContain(CANARY);
    expect(run.stdout + run.stderr).not.toContain(CANARY);
    expect(run.result).toMatchObject({ action: 'probe', ok: false, content: null, error: expect.stringMatching(/symbolic link/) });
  });

  it('never reads a large file the container put in place of a probe', async () => {
    await writeFile(join(h.efsDir, '.probe-big'), 'x'.repeat(10_000));
    await mkdir(join(h.efsDir, 'orders'), { recursive: true });
    await writeFile(join(h.efsDir, 'orders', '.probe-big'), 'x'.repeat(10_000));
    const run = await h.run({ action: 'probe', target: 'orders', file: '.probe-big' });
    expect(run.result).toMatchObject({ action: 'probe', ok: false, content: null, error: expect.stringMatching(/bytes, more than the 256/) });
  });

  it("reads a probe in the target's own directory, and needs the target to know which", async () => {
    await mkdir(join(h.efsDir, 'orders'), { recursive: true });
    await writeFile(join(h.efsDir, 'orders', '.probe-ok'), 'hello from orders');
    const run = await h.run({ action: 'probe', target: 'orders', file: '.probe-ok', expect: 'hello from orders' });
    expect(run.result).toEqual({ action: 'probe', ok: true, found: true, content: 'hello from orders' });
    const untargeted = await h.run({ action: 'probe', file: '.probe-ok' });
    expect(untargeted.error?.message).toMatch(/target: is required: the probe file is in the target's own directory/);
  });
});
