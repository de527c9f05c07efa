import { execTargets } from '../../functions/shared/config/target-mode.js';
import { GetRoleCommand, UpdateAssumeRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { DeleteBucketPolicyCommand, DeleteObjectCommand, GetBucketPolicyCommand, ListObjectVersionsCommand, PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { orchestratorFunctionName } from '../../functions/shared/config/deployment-names.js';
import type { Deployed } from '../../scripts/verify-deploy/deployment.js';
import { clientsFor, deployedZip } from '../../scripts/verify-deploy/read-back.js';
import { startStandin, type Standin } from '../../scripts/standin/index.js';
import { invokeBundle, writeRunner, type LambdaRun } from './lambda-runner.js';
import { containerEnv } from './orchestrator-harness.js';

/**
 * The deployed orchestrator, run: its code is the zip Terraform uploaded (unzipped as LAMBDA_TASK_ROOT), its
 * environment is the deployed function's (GetFunctionConfiguration), its credentials are the deployed role's
 * (sts:AssumeRole in moto, IAM enforced, so every S3 call is checked against the role's policies). S3 is moto's
 * (the deployed bucket); ECS Exec is the stand-in, whose "containers" are the targets' database tools here.
 * Only EFS_MOUNT_PATH differs from the deployed environment: the access point is a local directory.
 */

/** A running deployed system. */
export interface DeployedSystem {
  /** Invokes the deployed code with the deployed environment and the role's credentials. */
  invoke(event: unknown): Promise<LambdaRun>;
  /** Where the "EFS" is. */
  readonly efsDir: string;
  readonly s3: S3Client;
  readonly bucket: string;
  /** The deployed role's temporary credentials (what the function runs with). */
  readonly roleCredentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** Puts the deployment back as Terraform left it (bucket policy, trust policy, an empty bucket) and stops what was started. */
  stop(): Promise<void>;
}

/** Starts the deployed system; `containerEnvironment` is what each target's stand-in container has. */
export async function startDeployedSystem(d: Deployed, containerEnvironment: Record<string, string>): Promise<DeployedSystem> {
  const clients = clientsFor(d.aws, d.config.region);
  const functionName = orchestratorFunctionName(d.config.name);
  const fn = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  const codeDir = mkdtempSync(join(tmpdir(), 'deployed-code-'));
  const efsDir = mkdtempSync(join(tmpdir(), 'deployed-efs-'));
  chmodSync(efsDir, 0o777);
  const undo: Array<() => Promise<unknown>> = [];
  let standin: Standin | undefined;
  const stop = async () => {
    for (const step of undo.reverse()) await step();
    await standin?.stop();
    clients.destroy();
    rmSync(codeDir, { recursive: true, force: true });
    rmSync(efsDir, { recursive: true, force: true });
  };
  try {
    execFileSync('unzip', ['-q', deployedZip(d), '-d', codeDir]);
    writeRunner(codeDir);
    undo.push(await withoutTlsOnlyPolicy(clients.s3, d.config.bucket.name));
    // The stack's bucket is not force_destroy (a destroy must not delete backups): empty it for the destroy,
    // before the TLS-only policy is back (undone in reverse order; moto would deny the admin too, see below).
    undo.push(() => emptyBucket(clients.s3, d.config.bucket.name));
    const credentials = await assumeAsLambda(clients.iam, d, fn.Role!, undo);
    standin = await startStandin({
      region: d.config.region,
      accountId: d.accountId,
      clusters: [...new Set(d.config.targets.map((t) => t.cluster))].map((name) => ({ name, tasks: [] })),
    });
    for (const [i, t] of execTargets(d.config.targets).entries()) {
      // Each target's container sees only its own directory, as through its own access point (<rootPath>/<target>).
      const targetDir = join(efsDir, t.name);
      mkdirSync(targetDir, { mode: 0o777 });
      chmodSync(targetDir, 0o777);
      standin.setTask(t.cluster, {
        id: `${String(i).padStart(2, '0')}${'d'.repeat(30)}`,
        service: t.service,
        containers: [{ name: t.container, env: containerEnv(containerEnvironment), mounts: { [t.backupDir]: targetDir } }],
      });
    }
    const env = {
      ...fn.Environment?.Variables,
      EFS_MOUNT_PATH: efsDir,
      LAMBDA_TASK_ROOT: codeDir,
      AWS_REGION: d.config.region,
      ...credentials,
      AWS_ENDPOINT_URL_S3: d.aws.endpoint,
      AWS_ENDPOINT_URL_KMS: d.aws.endpoint,
      AWS_ENDPOINT_URL_ECS: standin.endpoint,
      // The stand-in answers SSM's TerminateSession on the same endpoint.
      AWS_ENDPOINT_URL_SSM: standin.endpoint,
      NODE_NO_WARNINGS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const roleCredentials = { accessKeyId: credentials.AWS_ACCESS_KEY_ID!, secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY!, sessionToken: credentials.AWS_SESSION_TOKEN! };
    return { invoke: (event) => invokeBundle(join(codeDir, 'index.mjs'), event, env).done, efsDir, s3: clients.s3, bucket: d.config.bucket.name, roleCredentials, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Deletes every object version and delete marker (a test's few dozen: one call each). */
async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  for (const v of [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId! }));
  }
  const left = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  if ((left.Versions?.length ?? 0) + (left.DeleteMarkers?.length ?? 0) > 0) throw new Error(`could not empty the bucket ${bucket}`);
}

/**
 * moto gap: with IAM enforced, moto applies a bucket policy's Deny without its conditions, so the TLS-only
 * statement (Deny unless aws:SecureTransport) denies every request, over HTTPS too. The run takes the policy
 * off and the returned step puts back exactly the same document (the second plan then shows no change).
 */
async function withoutTlsOnlyPolicy(s3: S3Client, bucket: string): Promise<() => Promise<unknown>> {
  const policy = (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  if (policy === undefined || !policy.includes('aws:SecureTransport')) throw new Error(`the bucket ${bucket} has no TLS-only policy to work around`);
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  return () => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
}

/**
 * moto has no Lambda service to assume the role for the function: the test plays it. The role's trust policy
 * (lambda.amazonaws.com) gets a statement trusting the admin user for one AssumeRole and is then restored.
 */
async function assumeAsLambda(iam: IAMClient, d: Deployed, roleArn: string, undo: Array<() => Promise<unknown>>): Promise<Record<string, string>> {
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  const original = decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!.AssumeRolePolicyDocument!);
  const sts = new STSClient(d.aws.clientConfig(d.config.region));
  try {
    const admin = (await sts.send(new GetCallerIdentityCommand({}))).Arn!;
    const trust = JSON.parse(original) as { Statement: unknown[] };
    trust.Statement.push({ Effect: 'Allow', Principal: { AWS: admin }, Action: 'sts:AssumeRole' });
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: JSON.stringify(trust) }));
    const restore = () => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: original }));
    undo.push(restore);
    const assumed = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: d.config.name.slice(0, 64) }))).Credentials!;
    return { AWS_ACCESS_KEY_ID: assumed.AccessKeyId!, AWS_SECRET_ACCESS_KEY: assumed.SecretAccessKey!, AWS_SESSION_TOKEN: assumed.SessionToken! };
  } finally {
    sts.destroy();
  }
}
