import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient, UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeTargets, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { readDeployedCode } from '../../scripts/verify-deploy/deployed-code.js';
import { startMotoServer, type MotoServer } from '../helpers/moto.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * The deploy read-back's code row against moto (IAM enforced): GetFunction's Code.Location, served by
 * test/helpers/moto_server.py with the zip moto stored (moto itself answers an address it does not serve),
 * is the code the function runs, and a zip other than the synthesized one is told apart.
 */

let moto: MotoServer;
let lambda: LambdaClient;
let roleArn: string;
const dir = tempDir('deployed-code');

const target = (name: string): Target => targetSchema.parse({ name, engine: 'redis', cluster: 'c', service: 's', container: 'redis', backupDir: '/backup' });

/** A function zip as the stack packages it: a handler and the targets file. */
function codeZip(name: string, targets: Target[], ageLimitHours?: Record<string, number>): string {
  const src = join(dir, name);
  execFileSync('mkdir', ['-p', src]);
  writeFileSync(join(src, 'index.mjs'), 'export const handler = async () => ({});\n');
  writeFileSync(join(src, TARGETS_FILE_NAME), serializeTargets(targets, ageLimitHours));
  execFileSync('zip', ['-q', '-X', '-j', join(dir, `${name}.zip`), join(src, 'index.mjs'), join(src, TARGETS_FILE_NAME)]);
  return join(dir, `${name}.zip`);
}

beforeAll(async () => {
  moto = await startMotoServer({ enforceIam: true });
  const config = { endpoint: moto.endpoint, region: 'eu-west-1', credentials: moto.admin };
  const iam = new IAMClient(config);
  roleArn = (await iam.send(new CreateRoleCommand({ RoleName: 'orchestrator', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }))).Role!.Arn!;
  iam.destroy();
  lambda = new LambdaClient(config);
}, 60_000);

afterAll(async () => {
  lambda?.destroy();
  await moto?.stop();
});

describe('readDeployedCode', () => {
  it('downloads the code the function runs and reads its targets and staleness limits', async () => {
    const zip = codeZip('first', [target('a'), target('b')], { a: 29, b: 171 });
    await lambda.send(new CreateFunctionCommand({ FunctionName: 'orch', Role: roleArn, Runtime: 'nodejs20.x', Handler: 'index.handler', Code: { ZipFile: readFileSync(zip) } }));

    const code = await readDeployedCode(lambda, 'orch', zip);

    expect(code).toMatchObject({ downloadedIsDeployed: true, deployedIsTheAsset: true, bytes: readFileSync(zip).length });
    expect(code.packaged).toEqual({ targets: [target('a'), target('b')], ageLimitHours: { a: 29, b: 171 } });
  });

  it('tells a synthesized zip that is not the deployed one apart, and follows an update of the code', async () => {
    const next = codeZip('second', [target('c')]);
    const before = await readDeployedCode(lambda, 'orch', next);
    expect(before.deployedIsTheAsset).toBe(false);
    expect(before.packaged.targets.map((t) => t.name)).toEqual(['a', 'b']);

    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'orch', ZipFile: readFileSync(next) }));
    const after = await readDeployedCode(lambda, 'orch', next);

    expect(after).toMatchObject({ downloadedIsDeployed: true, deployedIsTheAsset: true });
    expect(after.packaged).toEqual({ targets: [target('c')] });
  });

  it('names the function when there is none to download', async () => {
    await expect(readDeployedCode(lambda, 'absent', join(dir, 'first.zip'))).rejects.toThrow(/absent/);
  });
});
