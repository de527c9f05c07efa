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
import { DisabledException, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SSMClient, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { PayloadType } from '../../functions/shared/exec/frame.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcsExec, taskIdOf } from '../../functions/shared/exec/exec-client.js';
import {
  AgentNotRunningError,
  ExecAccessDeniedError,
  ExecDeadlineError,
  ExecError,
  ExecNotEnabledError,
  KmsAccessDeniedError,
  KmsKeyDisabledError,
  TargetNotConnectedError,
  TaskNotFoundError,
} from '../../functions/shared/exec/errors.js';
import { serveCommand, serveKmsHandshake, startFakeAgentPeer, type FakeAgentPeer } from '../helpers/fake-agent-peer.js';

const ecsMock = mockClient(ECSClient);
const kmsMock = mockClient(KMSClient);
const ssmMock = mockClient(SSMClient);
const CLUSTER = 'db';
const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/db/0123456789abcdef';
const NOT_ENABLED_OR_AGENT =
  "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.";

let peer: FakeAgentPeer;

beforeEach(async () => {
  ecsMock.reset();
  kmsMock.reset();
  ssmMock.reset();
  ssmMock.on(TerminateSessionCommand).callsFake((input: { SessionId: string }) => ({ SessionId: input.SessionId }));
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

const clients = () => ({ ecs: new ECSClient({ region: 'eu-west-1' }), kms: new KMSClient({ region: 'eu-west-1' }), ssm: new SSMClient({ region: 'eu-west-1' }) });

function exec(extra: { onTerminateError?: (sessionId: string, error: unknown) => void } = {}): EcsExec {
  return new EcsExec({ ...clients(), retry: { baseDelayMs: 1 }, ...extra });
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

  it('does not terminate a session the service closed', async () => {
    const served = serveConnections(1);
    await exec().run({ ...run, script: 'true' });
    await served;
    expect(ssmMock.commandCalls(TerminateSessionCommand)).toHaveLength(0);
  });

  it('terminates the session when the deadline passes', async () => {
    peer.nextConnection().then((c) => c.opened()).catch(() => undefined);
    await expect(exec().run({ ...run, script: 'sleep 30', timeoutMs: 800 })).rejects.toThrow(ExecDeadlineError);
    expect(ssmMock.commandCalls(TerminateSessionCommand).map((c) => c.args[0].input)).toEqual([{ SessionId: 'ecs-execute-command-1' }]);
  });

  it('terminates the session when the output is complete but channel_closed never comes, and reports a failed terminate', async () => {
    ssmMock.on(TerminateSessionCommand).rejects(new Error('not authorized to perform: ssm:TerminateSession'));
    const failures: string[] = [];
    const served = peer.nextConnection().then(async (connection) => {
      await connection.opened();
      const input = ecsMock.commandCalls(ExecuteCommandCommand)[0]!.args[0].input;
      // Run the command but never close: the client ends by itself after its grace time.
      const nonce = /"\$2" "\$\?"' ecs-exec '.*' ([0-9a-f]+)$/s.exec(input.command as string)?.[1];
      connection.sendOutput(`done\r\n\r\n${nonce}:0\r\n`);
    });
    const result = await exec({ onTerminateError: (id, error) => failures.push(`${id}: ${(error as Error).message}`) }).run({ ...run, script: 'echo done' });
    await served;
    expect(result).toMatchObject({ output: 'done\n', exitCode: 0 });
    expect(ssmMock.commandCalls(TerminateSessionCommand)).toHaveLength(1);
    expect(failures).toEqual(['ecs-execute-command-1: not authorized to perform: ssm:TerminateSession']);
  });

  describe('on a cluster with an exec KMS key', () => {
    const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const dataKey = Buffer.alloc(64, 7);

    beforeEach(() => {
      ecsMock.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: CLUSTER, configuration: { executeCommandConfiguration: { kmsKeyId: KEY } } }] });
      ecsMock.on(DescribeTasksCommand).resolves({
        tasks: [{ taskArn: TASK, clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/db', containers: [{ name: 'postgres', runtimeId: '0123456789abcdef-2531612879' }] }],
      });
    });

    it('makes a 64-byte data key bound to the session, the container and the challenge, and decrypts the output', async () => {
      kmsMock.on(GenerateDataKeyCommand).resolves({ KeyId: KEY, Plaintext: dataKey, CiphertextBlob: Buffer.from('blob') });
      const served = peer.nextConnection().then(async (connection) => {
        const { actionResult, cipher } = await serveKmsHandshake(connection, KEY, dataKey, 'Y2hhbGxlbmdl');
        const input = ecsMock.commandCalls(ExecuteCommandCommand)[0]!.args[0].input;
        await serveCommand(connection, input.command as string, cipher);
        return actionResult;
      });
      const result = await exec().run({ ...run, script: 'echo secret; exit 4' });
      expect(result).toMatchObject({ output: 'secret\n', exitCode: 4 });
      expect(await served).toEqual({ KMSCipherTextKey: Buffer.from('blob').toString('base64'), KMSCipherTextHash: null, ChallengeAcknowledgement: true });
      expect(kmsMock.commandCalls(GenerateDataKeyCommand).map((c) => c.args[0].input)).toEqual([
        {
          KeyId: KEY,
          NumberOfBytes: 64,
          EncryptionContext: {
            'aws:ssm:SessionId': 'ecs-execute-command-1',
            'aws:ssm:TargetId': 'ecs:db_0123456789abcdef_0123456789abcdef-2531612879',
            'aws:ssm:RandomChallenge': 'Y2hhbGxlbmdl',
          },
        },
      ]);
      expect(ssmMock.commandCalls(TerminateSessionCommand)).toHaveLength(0);
    });

    it.each([
      ['no kms:GenerateDataKey permission', Object.assign(new Error('User is not authorized to perform: kms:GenerateDataKey'), { name: 'AccessDeniedException' }), KmsAccessDeniedError, /execKmsKeys/],
      ['a disabled key', new DisabledException({ message: `${KEY} is disabled.`, $metadata: {} }), KmsKeyDisabledError, /enable it/],
    ])('fails with a typed error for %s, tells the agent, and terminates the session', async (_name, error, type, message) => {
      kmsMock.on(GenerateDataKeyCommand).rejects(error);
      const response = peer.nextConnection().then(async (connection) => {
        await connection.opened();
        connection.sendOutput(JSON.stringify({ AgentVersion: '3.3.0.0', RequestedClientActions: [{ ActionType: 'KMSEncryption', ActionParameters: { KMSKeyId: KEY } }] }), PayloadType.HandshakeRequest);
        await connection.waitUntil(() => connection.inputFrames().some((f) => f.payloadType === PayloadType.HandshakeResponse), 'a HandshakeResponse');
        return JSON.parse(connection.inputFrames().find((f) => f.payloadType === PayloadType.HandshakeResponse)!.payload.toString()) as { ProcessedClientActions: { ActionStatus: number; Error: string }[] };
      });
      const result = exec().run({ ...run, script: 'true' });
      await expect(result).rejects.toThrow(type);
      await expect(result).rejects.toThrow(message);
      expect((await response).ProcessedClientActions).toEqual([expect.objectContaining({ ActionStatus: 2, Error: expect.stringMatching(message) as unknown })]);
      expect(ssmMock.commandCalls(TerminateSessionCommand)).toHaveLength(1);
    });
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
    const client = new EcsExec({ ...clients(), retry: { attempts: 3, baseDelayMs: 1 } });
    await expect(client.run({ ...run, script: 'true' })).rejects.toThrow(TargetNotConnectedError);
    expect(ecsMock.commandCalls(ExecuteCommandCommand)).toHaveLength(3);
  });

  it('stops retrying when the next backoff would pass the deadline', async () => {
    ecsMock.on(ExecuteCommandCommand).rejects(new TargetNotConnectedException({ message: 'internal error', $metadata: {} }));
    const client = new EcsExec({ ...clients(), retry: { attempts: 10, baseDelayMs: 10_000 } });
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
