import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { SSMClient } from '@aws-sdk/client-ssm';
import { EcsExec } from '../../functions/shared/exec/exec-client.js';
import { startMotoKms } from '../helpers/moto-kms.js';
import { NAMES, TASK_ID, oneTaskDefinition } from '../helpers/standin.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function definitionFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'standin-cli-'));
  dirs.push(dir);
  const path = join(dir, 'definition.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function startCli(args: string[]) {
  // Credentials for the agent's KMS client (moto accepts any); nothing here reaches AWS.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIASTANDINCLI000000', AWS_SECRET_ACCESS_KEY: 'standin-cli' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/standin.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // the stand-in serves until a signal: stop it when a test fails before its own SIGTERM
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const firstLine = new Promise<string | undefined>((resolve) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    lines.once('close', () => resolve(undefined));
  });
  return { child, exited, firstLine, stderr: () => stderr };
}

describe('standin CLI', () => {
  it('prints the endpoint as JSON, serves the SDK through AWS_ENDPOINT_URL_ECS, and stops on SIGTERM', async () => {
    const cli = startCli(['--definition', definitionFile(oneTaskDefinition())]);
    const info = JSON.parse((await cli.firstLine) ?? '{}') as { endpoint: string; env: Record<string, string> };
    expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const saved = { ...process.env };
    Object.assign(process.env, info.env);
    try {
      const ecs = new ECSClient({});
      const { taskArns } = await ecs.send(new ListTasksCommand({ cluster: 'db' }));
      expect(taskArns).toEqual([`arn:aws:ecs:us-east-1:123456789012:task/db/${TASK_ID}`]);
      ecs.destroy();
    } finally {
      process.env = saved;
    }
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it.each([
    ['a missing --definition', [], 2, /^error: required option '--definition <file>' not specified$/m],
    ['an unknown option', ['--bogus'], 2, /^error: unknown option '--bogus'$/m],
    ['a bad --port', ['--definition', 'x.json', '--port', 'http'], 2, /must be a port number/],
    ['a bad --kms-endpoint', ['--definition', 'x.json', '--kms-endpoint', 'moto'], 2, /must be an http\(s\) URL/],
  ])('exits 2 on %s', async (_name, args, code, message) => {
    const cli = startCli(args);
    expect(await cli.exited).toBe(code);
    expect(cli.stderr()).toMatch(message);
  });

  it('runs KMS-encrypted sessions with --kms-endpoint, and prints the SSM endpoint for TerminateSession', async () => {
    const moto = await startMotoKms();
    onTestFinished(() => moto.stop());
    const key = await moto.createKey();
    const cli = startCli(['--definition', definitionFile(oneTaskDefinition({}, { kmsKeyId: key.arn })), '--kms-endpoint', moto.endpoint]);
    const info = JSON.parse((await cli.firstLine) ?? '{}') as { endpoint: string; env: Record<string, string> };
    expect(info.env.AWS_ENDPOINT_URL_SSM).toBe(info.endpoint);
    const options = { endpoint: info.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
    const exec = new EcsExec({ ecs: new ECSClient(options), ssm: new SSMClient(options), kms: moto.client() });
    expect(await exec.run({ cluster: NAMES.cluster, task: TASK_ID, container: NAMES.container, script: 'echo sealed' })).toMatchObject({ output: 'sealed\n', exitCode: 0 });
    expect(moto.operations).toEqual(['GenerateDataKey', 'Decrypt']);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('exits 1 naming the bad field of an invalid definition', async () => {
    const cli = startCli(['--definition', definitionFile({ clusters: [{ name: 'db', tasks: [{ id: 'x', service: 's', containers: [] }] }] })]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/^error: invalid stand-in definition:\n {2}clusters\.0\.tasks\.0\.containers: /);
  });
});
