import { describe, expect, it } from 'vitest';
import { stoppedTaskReason } from '../../functions/shared/core/task-stop.js';

describe('stoppedTaskReason', () => {
  it.each([
    [
      'an essential container killed',
      { stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers: [{ name: 'dump', exitCode: 137 }] },
      'EssentialContainerExited: Essential container in task exited; container dump exited with code 137 (SIGKILL: out of memory or stopped after the stop timeout)',
    ],
    [
      'a task that never started',
      { stopCode: 'TaskFailedToStart', stoppedReason: 'ResourceInitializationError: unable to pull secrets', containers: [{ name: 'dump', reason: 'ResourceInitializationError' }] },
      'TaskFailedToStart: ResourceInitializationError: unable to pull secrets; container dump: ResourceInitializationError',
    ],
    ['a stop by the user', { stopCode: 'UserInitiated', stoppedReason: 'ecs-db-backup: timeout', containers: [{ name: 'dump', exitCode: 143 }] }, 'UserInitiated: ecs-db-backup: timeout; container dump exited with code 143 (SIGTERM)'],
    ['an exit code of another container only', { containers: [{ name: 'sidecar', exitCode: 1 }] }, 'ECS gave no reason'],
    ['a plain exit code', { stopCode: 'EssentialContainerExited', containers: [{ name: 'dump', exitCode: 2 }] }, 'EssentialContainerExited; container dump exited with code 2'],
  ])('describes %s', (_name, task, expected) => {
    expect(stoppedTaskReason(task, 'dump')).toBe(expected);
  });
});
