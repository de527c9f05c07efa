import { describe, expect, it } from 'vitest';
import { onlyResource, synthStack } from '../helpers/synth.js';

describe('schedule', () => {
  it('invokes the orchestrator every hour', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_cloudwatch_event_rule')).toMatchObject({ name: 'ecs-db-backup', schedule_expression: 'rate(1 hour)' });
    expect(onlyResource(synth, 'aws_cloudwatch_event_target')).toMatchObject({
      rule: expect.stringMatching(/^\$\{aws_cloudwatch_event_rule\.schedule_rule_\w+\.name\}$/),
      arn: expect.stringMatching(/^\$\{aws_lambda_function\.orchestrator_function_\w+\.arn\}$/),
    });
    expect(onlyResource(synth, 'aws_cloudwatch_event_target').input).toBeUndefined();
  });

  it('lets only that rule invoke the function', () => {
    expect(onlyResource(synthStack(), 'aws_lambda_permission')).toMatchObject({
      action: 'lambda:InvokeFunction',
      principal: 'events.amazonaws.com',
      function_name: expect.stringMatching(/^\$\{aws_lambda_function\.orchestrator_function_\w+\.function_name\}$/),
      source_arn: expect.stringMatching(/^\$\{aws_cloudwatch_event_rule\.schedule_rule_\w+\.arn\}$/),
    });
  });
});
