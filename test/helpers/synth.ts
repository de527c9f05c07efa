import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtureDir } from './shared-fixture.js';
import { Testing } from 'cdktf';
import { parseConfig } from '../../functions/shared/config/load.js';
import { BackupStack } from '../../modules/backup-stack.js';

/** A synthesized stack as Terraform JSON. */
export interface SynthJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly output?: Record<string, { value: unknown; description?: string }>;
  readonly provider?: Record<string, unknown[]>;
  readonly terraform?: Record<string, unknown>;
}

/** One statement of an aws_iam_policy_document, as synthesized. */
export interface PolicyStatement {
  readonly sid?: string;
  readonly effect?: string;
  readonly actions: string[];
  readonly resources?: string[];
  readonly condition?: Array<{ test: string; variable: string; values: string[] }>;
  readonly principals?: Array<{ type: string; identifiers: string[] }>;
}

/** The smallest valid config; tests spread their changes over it. */
export const BASE_CONFIG = {
  region: 'eu-west-1',
  bucket: { name: 'acme-db-backups' },
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetIds: ['subnet-0a1b2c3d4e5f60711', 'subnet-0a1b2c3d4e5f60722'],
  efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
  targets: [
    { name: 'app-pg', engine: 'postgres', cluster: 'prod', service: 'app-db', container: 'postgres', database: 'app', backupDir: '/backup' },
  ],
} as const;

/** Three targets on two clusters (blue, green), one with allowServiceRestart: what the role tests scope permissions by. */
export const TWO_CLUSTER_TARGETS = [
  { name: 'a-pg', engine: 'postgres', cluster: 'blue', service: 'a-db', container: 'postgres', database: 'a', backupDir: '/backup' },
  { name: 'b-redis', engine: 'redis', cluster: 'blue', service: 'b-cache', container: 'redis', backupDir: '/backup', allowServiceRestart: true },
  { name: 'c-mongo', engine: 'mongodb', cluster: 'green', service: 'c-db', container: 'mongo', backupDir: '/backup' },
] as const;

const FIXTURE_HANDLER = 'export const handler = async () => ({ ok: true });\n';

/** A stand-in bundle directory: infra tests check packaging, not the orchestrator's code. */
function fixtureBundle(): string {
  return sharedFixtureDir('infra-test-bundle', FIXTURE_HANDLER, (dir) => writeFileSync(join(dir, 'index.mjs'), FIXTURE_HANDLER));
}

/** Validates `config` like main.ts does and synthesizes the stack to Terraform JSON (`change` applied to the stack first). */
export function synthStack(config: unknown = BASE_CONFIG, change?: (stack: BackupStack) => void): SynthJson {
  const app = Testing.app();
  const stack = new BackupStack(app, 'test', { config: parseConfig(config), bundleDir: fixtureBundle() });
  change?.(stack);
  return JSON.parse(Testing.synth(stack)) as SynthJson;
}

/** Synthesizes like {@link synthStack}, assets included, into a temp dir; returns the stack's directory (cdk.tf.json, assets/). */
export function synthStackToDir(config: unknown = BASE_CONFIG): string {
  const app = Testing.app();
  const stack = new BackupStack(app, 'test', { config: parseConfig(config), bundleDir: fixtureBundle() });
  return join(Testing.fullSynth(stack), 'stacks', 'test');
}

/** Every resource of a type, in synthesis order. */
export function resources(synth: SynthJson, type: string): Record<string, unknown>[] {
  return Object.values(synth.resource?.[type] ?? {});
}

/** The single resource of a type; fails when there is not exactly one. */
export function onlyResource(synth: SynthJson, type: string): Record<string, unknown> {
  const all = resources(synth, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0] as Record<string, unknown>;
}

/** Statements of the policy document whose logical id contains `idPart`. */
export function policyStatements(synth: SynthJson, idPart: string): PolicyStatement[] {
  const docs = Object.entries(synth.data?.aws_iam_policy_document ?? {}).filter(([id]) => id.includes(idPart));
  if (docs.length !== 1) throw new Error(`expected one policy document matching "${idPart}", found ${docs.length}`);
  return (docs[0]?.[1] as { statement: PolicyStatement[] }).statement;
}

/** Every statement of every policy document in the stack. */
export function allStatements(synth: SynthJson): PolicyStatement[] {
  return Object.values(synth.data?.aws_iam_policy_document ?? {}).flatMap((d) => (d as { statement: PolicyStatement[] }).statement);
}

/** Replaces partition and account tokens with readable values, for asserting ARNs. */
export function readable<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value)
      .replace(/\$\{data\.aws_partition\.[\w-]+\.partition\}/g, 'aws')
      .replace(/\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}/g, '123456789012'),
  ) as T;
}
