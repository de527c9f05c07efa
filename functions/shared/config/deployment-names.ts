/**
 * Names derived from the deployment `name` (config field `name`): the stack and every script that
 * finds a deployed resource use these, so a second deployment in the same account only needs another name.
 */

/** The deployment name when the config sets none. */
export const DEFAULT_DEPLOYMENT_NAME = 'ecs-db-backup';

/** Longest deployment name: its longest derived name (`<name>-orchestrator…`) stays under IAM's 64 characters. */
export const MAX_DEPLOYMENT_NAME_LENGTH = 32;

/** Name of the orchestrator Lambda (and of its role) of a deployment. */
export function orchestratorFunctionName(deploymentName: string): string {
  return `${deploymentName}-orchestrator`;
}
