import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, type Cluster, type Task, type TaskDefinition } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import { IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfigFile } from '../../../functions/shared/config/load.js';
import type { BackupContext, CheckContext, Clients } from '../../../functions/shared/exec-checker/types.js';

/** Shared ids of the fixture world. */
export const IDS = {
  account: '123456789012',
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
  taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-db:7',
  taskRoleArn: 'arn:aws:iam::123456789012:role/orders-db-task',
  callerArn: 'arn:aws:iam::123456789012:user/alice',
  lambdaRoleArn: 'arn:aws:iam::123456789012:role/ecs-db-backup-orchestrator',
  kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1111-2222',
  fileSystemId: 'fs-0a1b2c3d4e5f60733',
  accessPointId: 'fsap-0123456789abcdef0',
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetA: 'subnet-0a1b2c3d4e5f60711',
  subnetB: 'subnet-0a1b2c3d4e5f60722',
  lambdaSg: 'sg-0000000000000aaaa',
  mountSg: 'sg-0a1b2c3d4e5f60744',
} as const;

/** Clients whose `send` is mocked, plus the mocks. */
export function mockedClients() {
  const region = 'eu-west-1';
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const clients = {
    ecs: new ECSClient({ region, credentials }),
    iam: new IAMClient({ region, credentials }),
    sts: new STSClient({ region, credentials }),
    ec2: new EC2Client({ region, credentials }),
    kms: new KMSClient({ region, credentials }),
    logs: new CloudWatchLogsClient({ region, credentials }),
    s3: new S3Client({ region, credentials }),
    lambda: new LambdaClient({ region, credentials }),
    efs: new EFSClient({ region, credentials }),
  } satisfies Clients;
  const mocks = {
    ecs: mockClient(clients.ecs),
    iam: mockClient(clients.iam),
    sts: mockClient(clients.sts),
    ec2: mockClient(clients.ec2),
    kms: mockClient(clients.kms),
    logs: mockClient(clients.logs),
    s3: mockClient(clients.s3),
    lambda: mockClient(clients.lambda),
    efs: mockClient(clients.efs),
  };
  return { clients, mocks };
}

/** A RUNNING Fargate task with exec enabled and a running agent in container `postgres`. */
export function goodTask(): Task {
  return {
    taskArn: IDS.taskArn,
    clusterArn: IDS.clusterArn,
    taskDefinitionArn: IDS.taskDefinitionArn,
    lastStatus: 'RUNNING',
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    platformFamily: 'Linux',
    enableExecuteCommand: true,
    attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'subnetId', value: IDS.subnetA }] }],
    containers: [{ name: 'postgres', managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }] }],
  };
}

/** A task definition that gets everything right, with the backup EFS access point mounted at /backup. */
export function goodTaskDefinition(): TaskDefinition {
  return {
    taskDefinitionArn: IDS.taskDefinitionArn,
    taskRoleArn: IDS.taskRoleArn,
    containerDefinitions: [
      {
        name: 'postgres',
        linuxParameters: { initProcessEnabled: true },
        environment: [{ name: 'POSTGRES_DB', value: 'orders' }],
        mountPoints: [{ sourceVolume: 'backup', containerPath: '/backup' }],
      },
    ],
    volumes: [
      {
        name: 'backup',
        efsVolumeConfiguration: { fileSystemId: IDS.fileSystemId, transitEncryption: 'ENABLED', authorizationConfig: { accessPointId: IDS.accessPointId } },
      },
    ],
  };
}

/** A cluster with DEFAULT exec logging and no KMS key. */
export function goodCluster(): Cluster {
  return { clusterArn: IDS.clusterArn, clusterName: 'prod', configuration: { executeCommandConfiguration: { logging: 'DEFAULT' } } };
}

/** The orchestrator Lambda in both example subnets. */
export function goodFunction(): FunctionConfiguration {
  return {
    FunctionName: 'ecs-db-backup-orchestrator',
    Role: IDS.lambdaRoleArn,
    VpcConfig: { VpcId: IDS.vpcId, SubnetIds: [IDS.subnetA, IDS.subnetB], SecurityGroupIds: [IDS.lambdaSg] },
  };
}

/** The backup context of target orders-pg from the example config. */
export function goodBackup(fn: FunctionConfiguration | { error: string } = goodFunction()): BackupContext {
  const config = loadConfigFile('examples/backup.config.json');
  const target = config.targets.find((t) => t.name === 'orders-pg');
  if (target === undefined) throw new Error('example config lost target orders-pg');
  return { config, target, functionName: 'ecs-db-backup-orchestrator', orchestrator: 'error' in fn ? fn : { configuration: fn } };
}

/** A context for one check, with mocked clients; `patch` replaces parts. */
export function makeContext(patch: Partial<CheckContext> = {}) {
  const { clients, mocks } = mockedClients();
  const ctx: CheckContext = {
    region: 'eu-west-1',
    clients,
    caller: { arn: IDS.callerArn, account: IDS.account, principalArn: IDS.callerArn },
    cluster: goodCluster(),
    task: goodTask(),
    taskDefinition: goodTaskDefinition(),
    containers: ['postgres'],
    ...patch,
  };
  return { ctx, mocks };
}

/** Makes SimulatePrincipalPolicy answer `decide(action, resource)` for every action and resource asked. */
export function simulateWith(mock: ReturnType<typeof mockedClients>['mocks']['iam'], decide: (action: string, resource: string, input: SimulatePrincipalPolicyCommandInput) => string): void {
  mock.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
    EvaluationResults: (input.ActionNames ?? []).map((action) => ({
      EvalActionName: action,
      EvalResourceName: '*',
      EvalDecision: 'allowed',
      ResourceSpecificResults: (input.ResourceArns ?? ['*']).map((resource) => ({
        EvalResourceName: resource,
        EvalResourceDecision: decide(action, resource, input),
      })),
    })),
  }));
}
