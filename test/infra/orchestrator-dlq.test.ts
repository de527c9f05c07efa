import { describe, expect, it } from 'vitest';
import { ASYNC_RETRY_ATTEMPTS, DLQ_RETENTION_SECONDS } from '../../modules/orchestrator-dlq.js';
import { onlyResource, policyStatements, readable, resources, synthStack } from '../helpers/synth.js';

const QUEUE_ARN = expect.stringMatching(/^\$\{aws_sqs_queue\.dead-letters_queue_\w+\.arn\}$/);

describe('orchestrator dead-letter queue', () => {
  const synth = synthStack();

  it('is an SQS queue encrypted at rest (SSE-SQS) that keeps failed events 14 days', () => {
    expect(onlyResource(synth, 'aws_sqs_queue')).toEqual({
      name: 'ecs-db-backup-orchestrator-dead-letters',
      sqs_managed_sse_enabled: true,
      message_retention_seconds: DLQ_RETENTION_SECONDS,
    });
  });

  it("is the on-failure destination of the function's asynchronous invocations, set once the role may send to it", () => {
    expect(onlyResource(synth, 'aws_lambda_function_event_invoke_config')).toEqual({
      function_name: expect.stringMatching(/^\$\{aws_lambda_function\.orchestrator_function_\w+\.function_name\}$/),
      maximum_retry_attempts: ASYNC_RETRY_ATTEMPTS,
      destination_config: { on_failure: { destination: QUEUE_ARN } },
      depends_on: [expect.stringMatching(/^aws_iam_role_policy\.role_policy_\w+$/)],
    });
  });

  it('may be sent to by the orchestrator role, and by nothing broader', () => {
    const statement = readable(policyStatements(synth, 'role_permissions')).find((s) => s.sid === 'SqsDeadLetterQueue');
    expect(statement).toEqual({ sid: 'SqsDeadLetterQueue', actions: ['sqs:SendMessage'], resources: [QUEUE_ARN] });
  });

  it('alarms while the queue holds a message', () => {
    const alarm = resources(synth, 'aws_cloudwatch_metric_alarm').find((a) => a.namespace === 'AWS/SQS');
    expect(alarm).toMatchObject({
      alarm_name: 'ecs-db-backup-orchestrator-dead-letters',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: expect.stringMatching(/^\$\{aws_sqs_queue\.dead-letters_queue_\w+\.name\}$/) },
      statistic: 'Maximum',
      threshold: 1,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      treat_missing_data: 'notBreaching',
      alarm_actions: [expect.stringMatching(/aws_sns_topic\.alarms_topic_\w+\.arn/)],
    });
  });
});
