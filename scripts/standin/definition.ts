import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../../functions/shared/errors.js';

/** One container of a stand-in task: what the agent's commands see inside it. */
export interface StandinContainer {
  name: string;
  env?: Record<string, string>;
  /** Container path → host directory, bind-mounted at the container path for every command. */
  mounts?: Record<string, string>;
  /** What /bin/sh is inside the "container" (busybox: /usr/bin/busybox is bind-mounted over /bin/sh). */
  shell?: 'dash' | 'busybox';
  agentStatus?: 'RUNNING' | 'STOPPED' | 'PENDING';
  readonlyRootFilesystem?: boolean;
  initProcessEnabled?: boolean;
  /** Reported by DescribeTaskDefinition, for the exec-checker. */
  efsVolume?: { fileSystemId: string; accessPointId?: string; rootDirectory?: string; containerPath: string };
  runtimeId?: string;
}

/** One task of a service. */
export interface StandinTask {
  id: string;
  service: string;
  /** Default RUNNING. */
  lastStatus?: string;
  /** Default true. */
  enableExecuteCommand?: boolean;
  startedAt?: string;
  taskRoleArn?: string;
  pidMode?: string;
  /** Subnet of the task's ENI (awsvpc); DescribeTasks reports an ElasticNetworkInterface attachment when set. */
  subnetId?: string;
  containers: StandinContainer[];
}

/** One cluster and its tasks. */
export interface StandinCluster {
  name: string;
  kmsKeyId?: string;
  logging?: 'NONE' | 'DEFAULT' | 'OVERRIDE';
  tasks: StandinTask[];
}

/** Everything the stand-in pretends exists. */
export interface StandinDefinition {
  /** Default us-east-1. */
  region?: string;
  /** Default 123456789012. */
  accountId?: string;
  clusters: StandinCluster[];
}

const containerSchema = z.strictObject({
  name: z.string().min(1),
  env: z.record(z.string(), z.string()).optional(),
  mounts: z
    .record(z.string(), z.string().min(1))
    .superRefine((mounts, ctx) => {
      for (const path of Object.keys(mounts)) {
        if (!path.startsWith('/')) ctx.addIssue({ code: 'custom', path: [path], message: 'container paths must be absolute' });
      }
    })
    .optional(),
  shell: z.enum(['dash', 'busybox']).optional(),
  agentStatus: z.enum(['RUNNING', 'STOPPED', 'PENDING']).optional(),
  readonlyRootFilesystem: z.boolean().optional(),
  initProcessEnabled: z.boolean().optional(),
  efsVolume: z
    .strictObject({
      fileSystemId: z.string().min(1),
      accessPointId: z.string().optional(),
      rootDirectory: z.string().optional(),
      containerPath: z.string().min(1),
    })
    .optional(),
  runtimeId: z.string().optional(),
});

const taskSchema = z.strictObject({
  id: z.string().min(1),
  service: z.string().min(1),
  lastStatus: z.string().optional(),
  enableExecuteCommand: z.boolean().optional(),
  startedAt: z.string().optional(),
  taskRoleArn: z.string().optional(),
  pidMode: z.string().optional(),
  subnetId: z.string().optional(),
  containers: z.array(containerSchema).min(1),
});

/** zod schema of a definition file. */
export const definitionSchema = z.strictObject({
  region: z.string().optional(),
  accountId: z.string().regex(/^\d{12}$/, 'must be 12 digits').optional(),
  clusters: z.array(
    z.strictObject({
      name: z.string().min(1),
      kmsKeyId: z.string().optional(),
      logging: z.enum(['NONE', 'DEFAULT', 'OVERRIDE']).optional(),
      tasks: z.array(taskSchema),
    }),
  ),
});

/** Validates a parsed definition; throws ConfigError naming every bad field. */
export function parseDefinition(input: unknown): StandinDefinition {
  const result = definitionSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid stand-in definition:\n  ${problems.join('\n  ')}`, problems);
  }
  return result.data;
}

/** Reads and validates a definition file (JSON). */
export async function loadDefinitionFile(path: string): Promise<StandinDefinition> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read stand-in definition ${path}: ${(error as Error).message}`, [], { cause: error });
  }
  try {
    return parseDefinition(JSON.parse(text));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`stand-in definition ${path} is not valid JSON: ${(error as Error).message}`, [], { cause: error });
  }
}
