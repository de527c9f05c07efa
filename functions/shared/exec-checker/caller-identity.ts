import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { errorMessage } from '../errors.js';
import { parseArn } from './arn.js';
import type { Caller, CheckResult, Clients } from './types.js';

const CHECK = 'caller-identity';
const TITLE = 'Caller identity';

/** Pre-flight: who is calling, as an ARN SimulatePrincipalPolicy accepts (assumed roles mapped with iam:GetRole). */
export async function callerIdentity(clients: Pick<Clients, 'sts' | 'iam'>): Promise<{ caller?: Caller; result: CheckResult }> {
  let arn: string;
  let account: string;
  try {
    const out = await clients.sts.send(new GetCallerIdentityCommand({}));
    arn = out.Arn ?? '';
    account = out.Account ?? '';
  } catch (error) {
    return fail(`sts:GetCallerIdentity failed: ${errorMessage(error)}`, 'configure AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION');
  }
  const parts = parseArn(arn);
  const resource = parts?.resource ?? '';
  if (/^(user|role|group)\//.test(resource)) {
    return ok({ arn, account, principalArn: arn });
  }
  if (resource.startsWith('assumed-role/') && parts) {
    const roleName = resource.split('/')[1] ?? '';
    try {
      const out = await clients.iam.send(new GetRoleCommand({ RoleName: roleName }));
      const roleArn = out.Role?.Arn;
      if (roleArn) return ok({ arn, account, principalArn: roleArn });
      return fail(`iam:GetRole returned no ARN for role ${roleName}`, 'check that the role still exists');
    } catch (error) {
      return fail(
        `failed to get the role ARN of the caller ${arn}: ${errorMessage(error)}`,
        `allow iam:GetRole on role ${roleName} for the caller, or run the checker as an IAM user or role`,
      );
    }
  }
  return fail(
    `the ARN ${arn} is not supported: IAM can only simulate users, roles and groups`,
    'run the checker with an IAM user or role (not the root user or a federated user)',
  );

  function ok(caller: Caller): { caller: Caller; result: CheckResult } {
    const shown = caller.principalArn === arn ? arn : `${arn} (as ${caller.principalArn})`;
    return { caller, result: { check: CHECK, title: TITLE, verdict: 'green', message: shown } };
  }
}

function fail(message: string, fix: string): { result: CheckResult } {
  return { result: { check: CHECK, title: TITLE, verdict: 'red', message, fix } };
}
