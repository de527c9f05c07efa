import { SERVICE_TAG } from './exec-denied-reason.js';
import { SimulatePrincipalPolicyCommand, type ContextEntry, type IAMClient } from '@aws-sdk/client-iam';
import type { Task } from '@aws-sdk/client-ecs';

/** The IAM decision for one action on one resource. */
export interface Decision {
  readonly action: string;
  readonly resource: string;
  /** `allowed`, `implicitDeny` or `explicitDeny`. */
  readonly decision: string;
}

/** Condition context for an ECS Exec request on `task`'s `container`, so conditions are evaluated. */
export function execContext(task: Task, container: string | undefined): ContextEntry[] {
  const entries: ContextEntry[] = [];
  if (task.clusterArn) entries.push({ ContextKeyName: 'ecs:cluster', ContextKeyType: 'string', ContextKeyValues: [task.clusterArn] });
  if (task.taskArn) entries.push({ ContextKeyName: 'ecs:task', ContextKeyType: 'string', ContextKeyValues: [task.taskArn] });
  if (container !== undefined) {
    entries.push({ ContextKeyName: 'ecs:container-name', ContextKeyType: 'string', ContextKeyValues: [container] });
  }
  // The orchestrator's role may require the service's managed tag on the task (targets with ecsManagedTags).
  const service = task.tags?.find((t) => t.key === SERVICE_TAG)?.value;
  if (service !== undefined) entries.push({ ContextKeyName: `aws:ResourceTag/${SERVICE_TAG}`, ContextKeyType: 'string', ContextKeyValues: [service] });
  return entries;
}

/** Simulates `actions` on each of `resources` for the principal; one decision per action and resource. */
export async function simulate(
  iam: IAMClient,
  principalArn: string,
  actions: readonly string[],
  resources: readonly string[],
  context: readonly ContextEntry[] = [],
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  let marker: string | undefined;
  do {
    const out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: principalArn,
        ActionNames: [...actions],
        ResourceArns: [...resources],
        ContextEntries: context.length > 0 ? [...context] : undefined,
        Marker: marker,
      }),
    );
    for (const result of out.EvaluationResults ?? []) {
      const action = result.EvalActionName ?? '?';
      const specific = result.ResourceSpecificResults ?? [];
      if (specific.length > 0) {
        for (const r of specific) {
          decisions.push({ action, resource: r.EvalResourceName ?? '*', decision: r.EvalResourceDecision ?? 'implicitDeny' });
        }
      } else {
        decisions.push({ action, resource: result.EvalResourceName ?? resources[0] ?? '*', decision: result.EvalDecision ?? 'implicitDeny' });
      }
    }
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker !== undefined);
  return decisions;
}

/** The decisions that are not `allowed`. */
export function denied(decisions: readonly Decision[]): Decision[] {
  return decisions.filter((d) => d.decision !== 'allowed');
}
