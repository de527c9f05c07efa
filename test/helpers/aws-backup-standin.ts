import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the AWS Backup API calls the snapshot restore makes, because moto 5.2's AWS Backup has
 * only plans, vaults, vault locks and tags: no recovery points, no restore metadata, no restore jobs.
 * It speaks the real REST-JSON wire format (so the real @aws-sdk/client-backup talks to it), takes the
 * region from the request's SigV4 credential scope (one server serves both regions), pages lists two
 * items at a time, and runs restore jobs through PENDING → RUNNING → COMPLETED on successive describes,
 * failing them as AWS Backup does when the new table / DB instance name is already taken.
 */

/** A recovery point the stand-in holds. */
export interface StandinRecoveryPoint {
  readonly region: string;
  readonly vaultName: string;
  readonly arn: string;
  readonly resourceArn: string;
  readonly resourceType: 'EBS' | 'EFS' | 'DynamoDB' | 'RDS';
  readonly createdAt: Date;
  readonly status?: string;
  readonly restoreMetadata: Record<string, string>;
}

/** One StartRestoreJob the stand-in received. */
export interface StandinRestoreJob {
  readonly id: string;
  readonly region: string;
  readonly recoveryPointArn: string;
  readonly iamRoleArn: string;
  readonly resourceType?: string;
  readonly metadata: Record<string, string>;
  describes: number;
  failure?: string;
  createdResourceArn?: string;
}

/** The running stand-in. */
export interface AwsBackupStandin {
  readonly endpoint: string;
  /** Vaults that exist, as `<region>/<name>`. */
  readonly vaults: Set<string>;
  readonly points: StandinRecoveryPoint[];
  /** Names of live resources per region (tables, DB instances): restoring into one fails the job. */
  readonly liveNames: Map<string, Set<string>>;
  readonly jobs: StandinRestoreJob[];
  stop(): Promise<void>;
}

const PAGE = 2;

class ApiError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

function regionOf(req: IncomingMessage): string {
  const m = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/backup\/aws4_request/.exec(req.headers.authorization ?? '');
  if (m === null) throw new ApiError(403, 'MissingAuthenticationTokenException', 'request is not signed for AWS Backup');
  return m[1]!;
}

const seconds = (d: Date) => d.getTime() / 1000;

function listPoints(s: AwsBackupStandin, region: string, vaultName: string, query: URLSearchParams): object {
  const inVault = s.points.filter((p) => p.region === region && p.vaultName === vaultName);
  if (!s.vaults.has(`${region}/${vaultName}`)) {
    throw new ApiError(404, 'ResourceNotFoundException', `Backup vault ${vaultName} does not exist in ${region}`);
  }
  const byResource = query.get('resourceArn');
  const matching = inVault.filter((p) => byResource === null || p.resourceArn === byResource);
  const start = Number(query.get('nextToken') ?? '0');
  const page = matching.slice(start, start + PAGE);
  return {
    RecoveryPoints: page.map((p) => ({
      RecoveryPointArn: p.arn,
      BackupVaultName: p.vaultName,
      ResourceArn: p.resourceArn,
      ResourceType: p.resourceType,
      Status: p.status ?? 'COMPLETED',
      CreationDate: seconds(p.createdAt),
      CalculatedLifecycle: { DeleteAt: seconds(new Date(p.createdAt.getTime() + 7 * 86_400_000)) },
    })),
    ...(start + PAGE < matching.length ? { NextToken: String(start + PAGE) } : {}),
  };
}

function pointIn(s: AwsBackupStandin, region: string, arn: string): StandinRecoveryPoint {
  const point = s.points.find((p) => p.region === region && p.arn === arn);
  if (point === undefined) throw new ApiError(404, 'ResourceNotFoundException', `Recovery point ${arn} not found in ${region}`);
  return point;
}

/** The name key a restore of the type must carry, and whether taking a live name fails the job. */
const NAME_KEYS: Record<string, string> = { DynamoDB: 'targetTableName', RDS: 'DBInstanceIdentifier' };

function startJob(s: AwsBackupStandin, region: string, body: Record<string, unknown>): object {
  const arn = body.RecoveryPointArn as string | undefined;
  const metadata = body.Metadata as Record<string, string> | undefined;
  const iamRoleArn = body.IamRoleArn as string | undefined;
  if (!arn || !metadata) throw new ApiError(400, 'MissingParameterValueException', 'RecoveryPointArn and Metadata are required');
  if (!iamRoleArn) throw new ApiError(400, 'MissingParameterValueException', 'IamRoleArn is required');
  const point = pointIn(s, region, arn);
  const nameKey = NAME_KEYS[point.resourceType];
  if (nameKey !== undefined && !metadata[nameKey]) throw new ApiError(400, 'InvalidParameterValueException', `Metadata ${nameKey} is required for ${point.resourceType}`);
  const job: StandinRestoreJob = { id: randomUUID(), region, recoveryPointArn: arn, iamRoleArn, resourceType: body.ResourceType as string | undefined, metadata, describes: 0 };
  const [, partition, , , account] = point.resourceArn.split(':');
  const live = s.liveNames.get(region) ?? new Set<string>();
  if (nameKey !== undefined && live.has(metadata[nameKey]!)) job.failure = `${metadata[nameKey]} already exists`;
  else if (point.resourceType === 'EFS' && metadata.newFileSystem !== 'true') job.failure = 'in-place EFS restores are not run by this stand-in';
  else {
    const created: Record<string, string> = {
      DynamoDB: `arn:${partition}:dynamodb:${region}:${account}:table/${metadata.targetTableName}`,
      RDS: `arn:${partition}:rds:${region}:${account}:db:${metadata.DBInstanceIdentifier}`,
      EFS: `arn:${partition}:elasticfilesystem:${region}:${account}:file-system/fs-${job.id.slice(0, 17).replace(/-/g, '')}`,
      EBS: `arn:${partition}:ec2:${region}:${account}:volume/vol-${job.id.slice(0, 17).replace(/-/g, '')}`,
    };
    job.createdResourceArn = created[point.resourceType];
  }
  s.jobs.push(job);
  return { RestoreJobId: job.id };
}

function describeJob(s: AwsBackupStandin, region: string, id: string): object {
  const job = s.jobs.find((j) => j.id === id && j.region === region);
  if (job === undefined) throw new ApiError(404, 'ResourceNotFoundException', `Restore job ${id} not found in ${region}`);
  job.describes++;
  const status = job.describes === 1 ? 'PENDING' : job.describes === 2 ? 'RUNNING' : job.failure ? 'FAILED' : 'COMPLETED';
  return {
    RestoreJobId: job.id,
    RecoveryPointArn: job.recoveryPointArn,
    Status: status,
    ...(status === 'FAILED' ? { StatusMessage: job.failure } : {}),
    ...(status === 'COMPLETED' ? { CreatedResourceArn: job.createdResourceArn, PercentDone: '100.00%' } : {}),
  };
}

async function route(s: AwsBackupStandin, req: IncomingMessage, body: string): Promise<object> {
  const region = regionOf(req);
  const url = new URL(req.url ?? '/', 'http://standin');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (req.method === 'GET' && parts[0] === 'backup-vaults' && parts[2] === 'recovery-points' && parts.length === 3) return listPoints(s, region, parts[1]!, url.searchParams);
  if (req.method === 'GET' && parts[0] === 'backup-vaults' && parts[2] === 'recovery-points' && parts[4] === 'restore-metadata') {
    const point = pointIn(s, region, parts[3]!);
    return { BackupVaultArn: `vault:${point.vaultName}`, RecoveryPointArn: point.arn, ResourceType: point.resourceType, RestoreMetadata: point.restoreMetadata };
  }
  if (req.method === 'PUT' && url.pathname === '/restore-jobs') return startJob(s, region, JSON.parse(body || '{}') as Record<string, unknown>);
  if (req.method === 'GET' && parts[0] === 'restore-jobs' && parts.length === 2) return describeJob(s, region, parts[1]!);
  throw new ApiError(400, 'UnsupportedOperation', `the stand-in does not implement ${req.method} ${url.pathname}`);
}

/** Starts the stand-in on a free loopback port. */
export async function startAwsBackupStandin(): Promise<AwsBackupStandin> {
  const state = { vaults: new Set<string>(), points: [] as StandinRecoveryPoint[], liveNames: new Map<string, Set<string>>(), jobs: [] as StandinRestoreJob[] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      route(standin, req, Buffer.concat(chunks).toString('utf8')).then(
        (answer) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer));
        },
        (error: unknown) => {
          const e = error instanceof ApiError ? error : new ApiError(500, 'ServiceUnavailableException', String(error));
          res.writeHead(e.status, { 'content-type': 'application/json', 'x-amzn-errortype': e.type });
          res.end(JSON.stringify({ Message: e.message }));
        },
      );
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const standin: AwsBackupStandin = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ...state,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
  return standin;
}
