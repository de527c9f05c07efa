import {
  AccessDeniedException,
  ClusterNotFoundException,
  DescribeClustersCommand,
  DescribeTasksCommand,
  ECSClient,
  ExecuteCommandCommand,
  InvalidParameterException,
  TargetNotConnectedException,
  type ExecuteCommandCommandInput,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcsExec, taskIdOf } from '../../functions/shared/exec/exec-client.js';
import {
  AgentNotRunningError,
  ExecAccessDeniedError,
  ExecDeadlineError,
  ExecError,
  ExecNotEnabledError,
  KmsSessionNotSupportedError,
  TargetNotConnectedError,
  TaskNotFoundError,
} from '../../functions/shared/exec/errors.js';
import { serveCommand, startFakeAgentPeer, type FakeAgentPeer } from '../helpers/fake-agent-peer.js';

const ecsMock = mockClient(ECSClient);
const CLUSTER = 'db';
const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/db/0123456789abcdef';
const NOT_ENABLED_OR_AGENT =
  "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.";

let peer: FakeAgentPeer;

beforeEach(async () => {
  ecsMock.reset();
  peer = await startFakeAgentPeer({ token: 'tok' });
  ecsMock.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: CLUSTER, configuration: { executeCommandConfiguration: { logging: 'DEFAULT' } } }] });
  ecsMock.on(ExecuteCommandCommand).callsFake(() => session('ecs-execute-command-1'));
});

afterEach(async () => {
  await peer.close();
});

/** An ExecuteCommand answer whose stream URL says which call it belongs to. */
function session(sessionId: string) {
  const call = ecsMock.commandCalls(ExecuteCommandCommand).length - 1;
  return { session: { sessionId, streamUrl: `${peer.url}&call=${call}`, tokenValue: 'tok' } };
}

/** Serves the next `count` connections like an agent, running the command of the ExecuteCommand call they belong to. */
function serveConnections(count: number): Promise<void[]> {
  const served: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    served.push(
      peer.nextConnection().then((connection) => {
        const call = Number(new URL(connection.path, 'ws://x').searchParams.get('call'));
        const input = ecsMock.commandCalls(ExecuteCommandCommand)[call]?.args[0].input as ExecuteCommandCommandInput;
        return serveCommand(connection, input.command as string);
      }),
    );
  }
  return Promise.all(served);
}

function exec(): EcsExec {
  return new EcsExec({ ecs: new ECSClient({ region: 'eu-west-1' }), retry: { baseDelayMs: 1 } });
}

const run = { cluster: CLUSTER, task: TASK, container: 'postgres' };

describe('EcsExec.run', () => {
  it('runs the script through ExecuteCommand and the data channel and returns output and exit status', async () => {
    const served = serveConnections(1);
    const result = await exec().run({ ...run, script: 'echo "héllo ✓"; echo "# not a comment" >&2; exit 3' });
    await served;
    expect(result).toEqual({ output: 'héllo ✓\n# not a comment\n', exitCode: 3, droppedBytes: 0, sessionId: 'ecs-execute-command-1' });
    const input = ecsMock.commandCalls(ExecuteCommandCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ cluster: CLUSTER, task: TASK, container: 'postgres', interactive: true });
    expect(input?.command).toMatch(/^\/bin\/sh -c '/);
  });

  it('caps the output it keeps and counts the rest', async () => {
    const served = serveConnections(1);
    const result = await exec().run({ ...run, script: 'yes 0123456789 | head -n 20000', maxOutputBytes: 5000 });
    await served;
    expect(result.exitCode).toBe(0);
    // The cap counts raw pty bytes: 416 lines of 12 bytes ("…\r\n"), then 8 bytes of the next line.
    expect(result.output).toBe(`${'0123456789\n'.repeat(416)}01234567`);
    expect(result.droppedBytes).toBe(20000 * 12 - 5000);
  });

  it('describes each cluster once', async () => {
    const served = serveConnections(2);
    const client = exec();
    await client.run({ ...run, script: 'true' });
    await client.run({ ...run, script: 'true' });
    await served;
    expect(ecsMock.commandCalls(DescribeClustersCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(DescribeClustersCommand)[0]?.args[0].input).toEqual({ clusters: [CLUSTER], include: ['CONFIGURATIONS'] });
  });

  it('refuses a cluster whose exec sessions use KMS before calling ExecuteCommand', async () => {
    ecsMock.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: CLUSTER, configuration: { executeCommandConfiguration: { kmsKeyId: 'alias/exec' } } }] });
    await expect(exec().run({ ...run, script: 'true' })).rejects.toThrow(KmsSessionNotSupportedError);
    await expect(exec().run({ ...run, script: 'true' })).rejects.toThrow(/not supported yet/);
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(0);
  });

  it('retries TargetNotConnectedException with backoff, then succeeds', async () => {
    const notConnected = new TargetNotConnectedException({ message: 'The execute command failed due to an internal error. Try again later.', $metadata: {} });
    ecsMock.on(ExecuteCommandCommand).rejectsOnce(notConnected).rejectsOnce(notConnected).callsFake(() => session('s2'));
    const served = serveConnections(1);
    const result = await exec().run({ ...run, script: 'echo ok' });
    await served;
    expect(result).toMatchObject({ output: 'ok\n', exitCode: 0, sessionId: 's2' });
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(3);
  });

  it('gives up after the configured attempts with TargetNotConnectedError', async () => {
    ecsMock.on(ExecuteCommandCommand).rejects(new TargetNotConnectedException({ message: 'internal error', $metadata: {} }));
    const client = new EcsExec({ ecs: new ECSClient({ region: 'eu-west-1' }), retry: { attempts: 3, baseDelayMs: 1 } });
    await expect(client.run({ ...run, script: 'true' })).rejects.toThrow(TargetNotConnectedError);
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(3);
  });

  it('stops retrying when the next backoff would pass the deadline', async () => {
    ecsMock.on(ExecuteCommandCommand).rejects(new TargetNotConnectedException({ message: 'internal error', $metadata: {} }));
    const client = new EcsExec({ ecs: new ECSClient({ region: 'eu-west-1' }), retry: { attempts: 10, baseDelayMs: 10_000 } });
    await expect(client.run({ ...run, script: 'true', timeoutMs: 3000 })).rejects.toThrow(ExecDeadlineError);
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(1);
  });

  it.each([
    ['exec not enabled', new InvalidParameterException({ message: 'The execute command failed because execute command was not enabled when the task was run.', $metadata: {} }), ExecNotEnabledError, /enableExecuteCommand/],
    ['agent not running', new InvalidParameterException({ message: "The execute command failed because the execute command agent isn't running.", $metadata: {} }), AgentNotRunningError, /agent is not running/],
    ['access denied', new AccessDeniedException({ message: 'User is not authorized to perform: ecs:ExecuteCommand', $metadata: {} }), ExecAccessDeniedError, /grant ecs:ExecuteCommand/],
    ['task missing', new InvalidParameterException({ message: 'The specified task was not found.', $metadata: {} }), TaskNotFoundError, /RUNNING task/],
    ['cluster missing', new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} }), TaskNotFoundError, /cluster db was not found/],
    ['anything else', new InvalidParameterException({ message: 'Interactive is the only mode supported currently.', $metadata: {} }), ExecError, /Interactive is the only mode/],
  ])('maps %s to a typed error', async (_name, error, type, message) => {
    ecsMock.on(ExecuteCommandCommand).rejects(error);
    const result = exec().run({ ...run, script: 'true' });
    await expect(result).rejects.toThrow(type);
    await expect(result).rejects.toThrow(message);
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(1);
  });

  it.each([
    ['a task without ECS Exec', { enableExecuteCommand: false, containers: [] }, ExecNotEnabledError],
    ['an agent still PENDING', { enableExecuteCommand: true, containers: [{ name: 'postgres', managedAgents: [{ name: 'ExecuteCommandAgent' as const, lastStatus: 'PENDING' }] }] }, AgentNotRunningError],
    ['a task DescribeTasks cannot find', undefined, TaskNotFoundError],
    ['a task that has stopped', { lastStatus: 'STOPPED', enableExecuteCommand: true, containers: [] }, TaskNotFoundError],
  ])('tells "not enabled" from "agent not running" with DescribeTasks for %s', async (_name, task, type) => {
    ecsMock.on(ExecuteCommandCommand).rejects(new InvalidParameterException({ message: NOT_ENABLED_OR_AGENT, $metadata: {} }));
    ecsMock.on(DescribeTasksCommand).resolves(task ? { tasks: [{ taskArn: TASK, ...task }] } : { tasks: [], failures: [{ arn: TASK, reason: 'MISSING' }] });
    await expect(exec().run({ ...run, script: 'true' })).rejects.toThrow(type);
  });

  it('runs calls to one container one at a time, and calls to other containers alongside', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const served = Promise.all(
      [0, 1, 2].map(() =>
        peer.nextConnection().then(async (connection) => {
          const call = Number(new URL(connection.path, 'ws://x').searchParams.get('call'));
          const input = ecsMock.commandCalls(ExecuteCommandCommand)[call]?.args[0].input as ExecuteCommandCommandInput;
          if (input.container === 'postgres' && input.command?.includes('first')) await gate;
          await serveCommand(connection, input.command as string);
        }),
      ),
    );
    const client = exec();
    const first = client.run({ ...run, script: 'echo first' });
    const second = client.run({ ...run, task: taskIdOf(TASK), script: 'echo second' });
    const other = await client.run({ ...run, container: 'sidecar', script: 'echo other' });
    // The sidecar call finished while the first postgres call is held open; the second has not started.
    expect(other.output).toBe('other\n');
    expect(ecsMock.commandCalls(ExecuteCommandCommand).map((c) => c.args[0].input.container)).toEqual(['postgres', 'sidecar']);
    release();
    await expect(first).resolves.toMatchObject({ output: 'first\n' });
    await expect(second).resolves.toMatchObject({ output: 'second\n' });
    await served;
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(3);
  });

  it('runs the next queued call after a failed one', async () => {
    ecsMock.on(ExecuteCommandCommand).rejectsOnce(new AccessDeniedException({ message: 'denied', $metadata: {} })).callsFake(() => session('s3'));
    const served = serveConnections(1);
    const client = exec();
    const failing = client.run({ ...run, script: 'true' });
    const next = client.run({ ...run, script: 'echo next' });
    await expect(failing).rejects.toThrow(ExecAccessDeniedError);
    await expect(next).resolves.toMatchObject({ output: 'next\n', exitCode: 0 });
    await served;
  });
});
