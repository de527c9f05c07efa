import { DescribeTasksCommand, ListTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { ExecCheckError } from './errors.js';

/** The ARN of the newest RUNNING task of `service` in `cluster`. */
export async function newestRunningTask(ecs: ECSClient, cluster: string, service: string): Promise<string> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'RUNNING', nextToken }));
    arns.push(...(out.taskArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken !== undefined);
  const running = [];
  for (let i = 0; i < arns.length; i += 100) {
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    running.push(...(out.tasks ?? []).filter((t) => t.lastStatus === 'RUNNING' && t.taskArn));
  }
  running.sort((a, b) => (b.startedAt?.getTime() ?? 0) - (a.startedAt?.getTime() ?? 0));
  const newest = running[0]?.taskArn;
  if (newest === undefined) {
    throw new ExecCheckError(
      `service ${service} in cluster ${cluster} has no RUNNING task: start it (desired count ≥ 1) or pass --task`,
    );
  }
  return newest;
}
