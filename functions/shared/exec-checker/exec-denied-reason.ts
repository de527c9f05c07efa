import type { Task } from '@aws-sdk/client-ecs';

/** The tag ECS puts on a service's tasks when the service has enableECSManagedTags. */
export const SERVICE_TAG = 'aws:ecs:serviceName';

/**
 * Why the orchestrator's role may refuse ecs:ExecuteCommand on this task, by the conditions the stack writes
 * (modules/orchestrator-role.ts): with `ecsManagedTags`, only tasks tagged aws:ecs:serviceName = the configured
 * service; always, only the configured container names (ecs:container-name). Pure.
 */
export function executeCommandDeniedReason(task: Task, target: { service: string; container: string; ecsManagedTags: boolean }): string {
  const tag = task.tags?.find((t) => t.key === SERVICE_TAG)?.value;
  if (target.ecsManagedTags && tag === undefined) {
    return `the role allows ExecuteCommand only on tasks tagged ${SERVICE_TAG}=${target.service} (ecsManagedTags: true), and this task carries no ${SERVICE_TAG} tag: set enableECSManagedTags: true on service ${target.service} and force a new deployment, or set ecsManagedTags to false and redeploy`;
  }
  if (target.ecsManagedTags && tag !== target.service) {
    return `the role allows ExecuteCommand only on tasks of service ${target.service} (${SERVICE_TAG}), and this task belongs to service ${tag}: pass a task of ${target.service}, or fix the target's service in the config and redeploy`;
  }
  return `the role allows ExecuteCommand only into the configured containers (ecs:container-name; this target: ${target.container}) in the configured clusters: check that target's cluster and container in the config match the task, then redeploy`;
}
