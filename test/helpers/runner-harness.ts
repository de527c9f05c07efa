import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { StandinImage } from '../../scripts/standin/index.js';
import type { MotoS3 } from './moto.js';
import { startHarness, type Harness } from './orchestrator-harness.js';

/**
 * The orchestrator harness for mode "task" targets: moto as S3 and as the Secrets Manager the Lambda and the stand-in's
 * run tasks read, the fast path on (a small dump ends in the invocation that started it).
 */

/** A running runner harness. */
export interface RunnerHarness {
  h: Harness<MotoS3>;
  /** Creates a secret in moto's Secrets Manager holding `fields` as JSON; resolves to its ARN. */
  secret(name: string, fields: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the harness on `moto` (stopped with it), with `images` as what each image reference stands for. */
export async function startRunnerHarness(moto: MotoS3, images: Record<string, StandinImage>): Promise<RunnerHarness> {
  const secrets = new SecretsManagerClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } });
  const h = await startHarness({ fastPathSeconds: 30, startS3: async () => moto, runTasks: { secretsEndpoint: moto.endpoint, images } });
  return {
    h,
    async secret(name, fields) {
      return (await secrets.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(fields) }))).ARN!;
    },
    async stop() {
      secrets.destroy();
      await h.stop();
    },
  };
}
