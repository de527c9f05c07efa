import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { functionNameOf, startLambdaApi, type LambdaApi } from '../../scripts/standin/lambda-api.js';

/** The Lambda Invoke stand-in, reached by the real SDK client through AWS_ENDPOINT_URL_LAMBDA. */

let api: LambdaApi;
const saved = process.env.AWS_ENDPOINT_URL_LAMBDA;

beforeAll(async () => {
  api = await startLambdaApi({
    functions: ['orchestrator'],
    invoke: async (_name, event) => {
      const e = event as { fail?: string };
      return e.fail ? { ok: false, error: { name: 'RestoreRefusedError', message: e.fail } } : { ok: true, result: { echo: event } };
    },
  });
});

afterAll(async () => {
  await api.stop();
});

afterEach(() => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  else process.env.AWS_ENDPOINT_URL_LAMBDA = saved;
});

function client(): LambdaClient {
  // No endpoint here: the SDK must find the stand-in through AWS_ENDPOINT_URL_LAMBDA itself.
  process.env.AWS_ENDPOINT_URL_LAMBDA = api.endpoint;
  return new LambdaClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
}

describe('the Lambda Invoke stand-in', () => {
  it('is reached through AWS_ENDPOINT_URL_LAMBDA and answers with the handler result', async () => {
    const lambda = client();
    const res = await lambda.send(new InvokeCommand({ FunctionName: 'orchestrator', Payload: Buffer.from(JSON.stringify({ action: 'restore' })) }));
    lambda.destroy();
    expect(res.StatusCode).toBe(200);
    expect(res.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(res.Payload!).toString())).toEqual({ echo: { action: 'restore' } });
    expect(api.invocations.at(-1)).toEqual({ functionName: 'orchestrator', invocationType: 'RequestResponse', event: { action: 'restore' } });
  });

  it('answers a handler error as FunctionError "Unhandled" with errorType and errorMessage', async () => {
    const lambda = client();
    const res = await lambda.send(new InvokeCommand({ FunctionName: 'orchestrator', Payload: Buffer.from(JSON.stringify({ fail: 'no' })) }));
    lambda.destroy();
    expect(res.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(res.Payload!).toString())).toEqual({ errorType: 'RestoreRefusedError', errorMessage: 'no', trace: [] });
  });

  it('answers an unknown function with ResourceNotFoundException', async () => {
    const lambda = client();
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'other', Payload: Buffer.from('{}') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Function not found: other',
    });
    lambda.destroy();
  });

  it('answers an Event invocation with 202 at once', async () => {
    const lambda = client();
    const res = await lambda.send(new InvokeCommand({ FunctionName: 'orchestrator', InvocationType: 'Event', Payload: Buffer.from('{}') }));
    lambda.destroy();
    expect(res.StatusCode).toBe(202);
  });

  it.each([
    ['orchestrator', 'orchestrator'],
    ['orchestrator:$LATEST', 'orchestrator'],
    ['arn:aws:lambda:eu-west-1:123456789012:function:orchestrator:live', 'orchestrator'],
    ['arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aorchestrator', 'orchestrator'],
  ])('reads the function name of %s', (segment, name) => {
    expect(functionNameOf(segment)).toBe(name);
  });
});
