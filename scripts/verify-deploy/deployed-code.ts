import { GetFunctionCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPackagedTargets, TARGETS_FILE_NAME, type PackagedTargets } from '../../functions/shared/config/load.js';

/**
 * The deployed function's code, fetched the way it can be from AWS: GetFunction's `Code.Location` (a
 * presigned URL of the zip the function runs), downloaded, its backup-targets.json read as the Lambda reads
 * it. moto does not serve that URL; test/helpers/moto_server.py answers it with the zip moto stored.
 */

/** What the deployed code is, compared with what was synthesized. */
export interface DeployedCode {
  /** The downloaded zip is the one Lambda reports it runs (its CodeSha256). */
  readonly downloadedIsDeployed: boolean;
  /** ... and the zip the synth wrote (the asset Terraform uploaded). */
  readonly deployedIsTheAsset: boolean;
  /** Size of the downloaded zip. */
  readonly bytes: number;
  /** Its targets file, re-validated. */
  readonly packaged: PackagedTargets;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

/** Downloads `functionName`'s code and compares it with the synthesized zip at `assetZip`. */
export async function readDeployedCode(lambda: LambdaClient, functionName: string, assetZip: string): Promise<DeployedCode> {
  const fn = await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
  const location = fn.Code?.Location;
  if (location === undefined) throw new Error(`GetFunction ${functionName} returned no Code.Location`);
  const res = await fetch(location);
  if (!res.ok) throw new Error(`downloading the code of ${functionName} from ${location}: HTTP ${res.status} ${await res.text()}`);
  const zip = Buffer.from(await res.arrayBuffer());
  const dir = mkdtempSync(join(tmpdir(), 'deployed-code-'));
  try {
    writeFileSync(join(dir, 'code.zip'), zip);
    execFileSync('unzip', ['-q', join(dir, 'code.zip'), TARGETS_FILE_NAME, '-d', dir]);
    return {
      downloadedIsDeployed: sha256(zip) === fn.Configuration?.CodeSha256,
      deployedIsTheAsset: fn.Configuration?.CodeSha256 === sha256(readFileSync(assetZip)),
      bytes: zip.length,
      packaged: readPackagedTargets(join(dir, TARGETS_FILE_NAME)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
