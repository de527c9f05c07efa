import type { KeyValuePair } from '@aws-sdk/client-ecs';
import { lines } from './result.js';
import type { Check, CheckResult } from './types.js';

const { green, yellow } = lines('environment-credentials');

/** Variables that make the exec agent use static keys instead of the task role. */
export const CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

const found = (env: readonly KeyValuePair[] | undefined): string[] =>
  (env ?? []).map((e) => e.name ?? '').filter((n) => (CREDENTIAL_VARIABLES as readonly string[]).includes(n));

/** Check 11: no AWS credential variables in container definitions or the task's container overrides. */
export const environmentCredentials: Check = async (ctx) => {
  const results: CheckResult[] = [];
  const overrides = ctx.task.overrides?.containerOverrides ?? [];
  for (const def of ctx.taskDefinition.containerDefinitions ?? []) {
    const name = def.name ?? '?';
    if (!ctx.containers.includes(name)) continue;
    const title = `AWS credentials in environment (${name})`;
    const inDefinition = found(def.environment);
    const inOverrides = overrides.filter((o) => o.name === name).flatMap((o) => found(o.environment));
    const where = [
      ...(inDefinition.length > 0 ? [`${inDefinition.join(', ')} in the task definition`] : []),
      ...(inOverrides.length > 0 ? [`${inOverrides.join(', ')} in the task's container overrides`] : []),
    ];
    results.push(
      where.length === 0
        ? green(title, 'none')
        : yellow(title, `${where.join('; ')} (the exec agent uses these instead of the task role)`, 'remove the AWS credential variables and give the task role the permissions instead'),
    );
  }
  return results;
};
