import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, onlyResource, policyStatements, readable, synthStack } from '../helpers/synth.js';

const TOPIC = expect.stringMatching(/^\$\{aws_sns_topic\.alarms_topic_\w+\.arn\}$/);
const synth = () => synthStack({ ...BASE_CONFIG, snapshots: {} });
const jobRule = () => Object.values(synth().resource?.aws_cloudwatch_event_rule ?? {}).find((r) => r.name === 'ecs-db-backup-backup-job-failed');

describe('AWS Backup job alarms', () => {
  it('match failed, aborted and expired backup, copy and restore jobs', () => {
    const pattern = jobRule()?.event_pattern as string;
    // Fn.jsonencode keeps the pattern an HCL expression; its content is the object below.
    expect(pattern).toBe(
      '${jsonencode({"source" = ["aws.backup"], "detail-type" = ["Backup Job State Change", "Copy Job State Change", "Restore Job State Change"], "detail" = {"state" = ["FAILED", "ABORTED", "EXPIRED"]}})}',
    );
  });

  it('send the alarm topic a sentence naming the job, the resource and the reason', () => {
    const target = Object.values(synth().resource?.aws_cloudwatch_event_target ?? {}).find((t) => String(t.rule).includes('dr_job-alarms_rule'));
    expect(target).toMatchObject({ arn: TOPIC });
    const transformer = (target as { input_transformer: { input_paths: Record<string, string>; input_template: string } }).input_transformer;
    expect(transformer.input_paths).toMatchObject({ resource: '$.detail.resourceArn', reason: '$.detail.statusMessage', state: '$.detail.state', job: '$.detail-type' });
    expect(transformer.input_template).toMatch(/^".*<job> <state> for <resource> .*Reason: <reason>"$/);
    for (const placeholder of transformer.input_template.match(/<(\w+)>/g) ?? []) expect(transformer.input_paths).toHaveProperty(placeholder.slice(1, -1));
  });

  it('let EventBridge publish to the topic for this rule only, and keep the owner account its access', () => {
    const s = synth();
    expect(onlyResource(s, 'aws_sns_topic_policy')).toMatchObject({ arn: TOPIC });
    const [owner, events] = readable(policyStatements(s, 'topic-policy'));
    expect(owner).toMatchObject({ sid: 'OwnerAccount', condition: [{ test: 'StringEquals', variable: 'AWS:SourceOwner', values: ['123456789012'] }] });
    expect(events).toEqual({
      sid: 'BackupJobFailures',
      principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
      actions: ['sns:Publish'],
      resources: [TOPIC],
      condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [expect.stringMatching(/^\$\{aws_cloudwatch_event_rule\.dr_job-alarms_rule_\w+\.arn\}$/)] }],
    });
  });

  it('are not created without the snapshot layer', () => {
    expect(Object.values(synthStack().resource?.aws_cloudwatch_event_rule ?? {}).map((r) => r.name)).toEqual(['ecs-db-backup']);
  });
});
