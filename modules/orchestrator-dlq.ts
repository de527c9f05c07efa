import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';

/** How long a failed invocation's record stays in the queue: SQS's maximum, 14 days. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;
/** Retries Lambda makes of a failed asynchronous invocation before it goes to the queue (Lambda's default). */
export const ASYNC_RETRY_ATTEMPTS = 2;

/** Props of {@link OrchestratorDeadLetterQueue}. */
export interface OrchestratorDeadLetterQueueProps {
  /** Name of the queue. */
  readonly queueName: string;
}

/**
 * The on-failure destination of the orchestrator's asynchronous invocations (the hourly EventBridge schedule,
 * `aws lambda invoke --invocation-type Event`): an encrypted SQS queue (SSE-SQS, no key policy to manage) that
 * keeps, for 14 days, every event whose invocation still failed after Lambda's retries, with the error. Its
 * depth alarm lives in BackupAlarms. The function is attached with {@link routeFailuresOf} once it exists: the
 * role (which needs sqs:SendMessage on {@link queueArn}) must exist before the function, and the queue before it.
 */
export class OrchestratorDeadLetterQueue extends Construct {
  /** ARN of the queue. */
  readonly queueArn: string;
  /** Name of the queue (the alarm's QueueName dimension). */
  readonly queueName: string;

  constructor(scope: Construct, id: string, props: OrchestratorDeadLetterQueueProps) {
    super(scope, id);
    const queue = new SqsQueue(this, 'queue', {
      name: props.queueName,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
    });
    this.queueArn = queue.arn;
    this.queueName = queue.name;
  }

  /**
   * Sends the function's failed asynchronous invocations here. `dependsOn`: the role policy granting
   * sqs:SendMessage (Lambda checks it when the destination is set).
   */
  routeFailuresOf(functionName: string, dependsOn: readonly ITerraformDependable[]): void {
    new LambdaFunctionEventInvokeConfig(this, 'invoke-config', {
      functionName,
      maximumRetryAttempts: ASYNC_RETRY_ATTEMPTS,
      destinationConfig: { onFailure: { destination: this.queueArn } },
      dependsOn: [...dependsOn],
    });
  }
}
