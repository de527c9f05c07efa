import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';

/** How often the orchestrator runs: each run decides per target whether anything is due. */
export const ORCHESTRATOR_SCHEDULE = 'rate(1 hour)';

/** Props of {@link HourlySchedule}. */
export interface HourlyScheduleProps {
  /** Name of the EventBridge rule. */
  readonly ruleName: string;
  /** Name of the function to invoke. */
  readonly functionName: string;
  /** ARN of the function to invoke. */
  readonly functionArn: string;
  /** Schedule expression. Default: {@link ORCHESTRATOR_SCHEDULE}. */
  readonly scheduleExpression?: string;
}

/** The EventBridge rule that invokes the orchestrator every hour, and the permission that lets it. */
export class HourlySchedule extends Construct {
  /** ARN of the rule. */
  readonly ruleArn: string;

  constructor(scope: Construct, id: string, props: HourlyScheduleProps) {
    super(scope, id);
    const rule = new CloudwatchEventRule(this, 'rule', {
      name: props.ruleName,
      description: 'Runs the ecs-db-backup orchestrator',
      scheduleExpression: props.scheduleExpression ?? ORCHESTRATOR_SCHEDULE,
    });
    new CloudwatchEventTarget(this, 'target', {
      rule: rule.name,
      targetId: 'orchestrator',
      arn: props.functionArn,
    });
    new LambdaPermission(this, 'invoke', {
      statementId: 'AllowEventBridgeSchedule',
      action: 'lambda:InvokeFunction',
      functionName: props.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
    this.ruleArn = rule.arn;
  }
}
