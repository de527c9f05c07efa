import { BackupError } from '../shared/errors.js';

/**
 * The orchestrator bundle's stand-in for `@aws-sdk/credential-provider-node` (an esbuild alias in
 * modules/orchestrator-bundle.ts). Lambda hands a function its role's credentials in the environment, which is the
 * first source of the SDK's default chain; the rest of the chain (profiles, SSO, web identity, process, container and
 * instance metadata, with the STS and SSO clients it carries) is never reached in Lambda and made up a tenth of the
 * bundle. The scripts and tests that import the sources directly keep the SDK's full chain.
 */

/** Variables Lambda sets for the execution role's credentials. */
export const LAMBDA_CREDENTIAL_VARS = {
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  sessionToken: 'AWS_SESSION_TOKEN',
  expiration: 'AWS_CREDENTIAL_EXPIRATION',
} as const;

/** Credentials as the SDK's signers take them. */
export interface EnvCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** The credentials in `env`; throws naming the variable that is missing. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): EnvCredentials {
  const v = LAMBDA_CREDENTIAL_VARS;
  const accessKeyId = env[v.accessKeyId];
  const secretAccessKey = env[v.secretAccessKey];
  for (const [name, value] of [[v.accessKeyId, accessKeyId], [v.secretAccessKey, secretAccessKey]] as const) {
    if (!value) throw new BackupError(`no AWS credentials: environment variable ${name} is not set (Lambda sets it for the function's role)`);
  }
  const sessionToken = env[v.sessionToken];
  const expiration = env[v.expiration];
  return {
    accessKeyId: accessKeyId!,
    secretAccessKey: secretAccessKey!,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration ? { expiration: new Date(expiration) } : {}),
  };
}

/** What the SDK clients call for their default credentials: the environment's, read when first needed. */
export function defaultProvider(): () => Promise<EnvCredentials> {
  return async () => credentialsFromEnv(process.env);
}
