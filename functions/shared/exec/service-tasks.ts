import { DescribeTasksCommand, ListTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';

/** DescribeTasks accepts at most this many tasks per call. */
export const DESCRIBE_BATCH = 100;
/** How long one service's task list is reused: targets of one service ask ECS once, and a task that stopped is seen within a minute. */
export const SERVICE_TASKS_TTL_MS = 60_000;

/** Where task pickers get a service's RUNNING-desired tasks, described. */
export interface TaskSource {
  running(cluster: string, service: string): Promise<Task[]>;
}

/** Lists the service's tasks (every page) and describes them, DESCRIBE_BATCH per call. */
export async function describeServiceTasks(ecs: ECSClient, cluster: string, service: string): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'RUNNING', ...(nextToken ? { nextToken } : {}) }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const batches: Promise<Task[]>[] = [];
  for (let i = 0; i < arns.length; i += DESCRIBE_BATCH) {
    const batch = arns.slice(i, i + DESCRIBE_BATCH);
    batches.push((async () => (await ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }))).tasks ?? [])());
  }
  return (await Promise.all(batches)).flat();
}

/**
 * A TaskSource for one invocation: ListTasks/DescribeTasks once per cluster and service (concurrent askers share
 * the call), reused for SERVICE_TASKS_TTL_MS; a failed call is not kept, so the next asker tries again.
 */
export function cachedServiceTasks(ecs: ECSClient, now: () => number = Date.now): TaskSource {
  const cache = new Map<string, { at: number; tasks: Promise<Task[]> }>();
  return {
    running(cluster, service) {
      const key = JSON.stringify([cluster, service]);
      const hit = cache.get(key);
      if (hit && now() - hit.at < SERVICE_TASKS_TTL_MS) return hit.tasks;
      const tasks = describeServiceTasks(ecs, cluster, service);
      const entry = { at: now(), tasks };
      cache.set(key, entry);
      tasks.catch(() => {
        if (cache.get(key) === entry) cache.delete(key);
      });
      return tasks;
    },
  };
}
