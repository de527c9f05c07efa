import { describe, expect, it } from 'vitest';
import { judgeDrift, planDrift } from '../../scripts/verify-deploy/drift.js';

const change = (address: string, type: string, actions: string[], before: object | null, after: object | null) => ({
  address, type, mode: 'managed', change: { actions, before, after },
});

describe('the second plan after a deploy', () => {
  it('finds no drift in a plan of no-ops and data reads', () => {
    const plan = { resource_changes: [change('aws_s3_bucket.b', 'aws_s3_bucket', ['no-op'], { a: 1 }, { a: 1 }), { ...change('data.x.y', 'x', ['read'], null, {}), mode: 'data' }] };
    expect(planDrift(plan)).toEqual([]);
  });

  it('names the attributes an update changes', () => {
    const plan = { resource_changes: [change('aws_lambda_function.f', 'aws_lambda_function', ['update'], { file_system_config: [], memory_size: 512, tags: {} }, { file_system_config: [{ arn: 'x' }], memory_size: 512, tags: {} })] };
    expect(planDrift(plan)).toEqual([{ address: 'aws_lambda_function.f', resourceType: 'aws_lambda_function', actions: ['update'], attributes: ['file_system_config'] }]);
  });

  it('accepts a listed emulator gap and prints why', () => {
    const { known, problems } = judgeDrift([{ address: 'aws_lambda_function.f', resourceType: 'aws_lambda_function', actions: ['update'], attributes: ['file_system_config'] }]);
    expect(problems).toEqual([]);
    expect(known).toEqual(["aws_lambda_function.f.file_system_config: moto's Lambda drops FileSystemConfigs on CreateFunction"]);
  });

  it.each([
    ['an unlisted attribute next to a gap', { actions: ['update'], attributes: ['file_system_config', 'memory_size'] }, 'aws_lambda_function.f: update memory_size'],
    ['a replacement', { actions: ['delete', 'create'], attributes: ['file_system_config'] }, 'aws_lambda_function.f: delete+create file_system_config'],
    ['a create', { actions: ['create'], attributes: ['memory_size'] }, 'aws_lambda_function.f: create memory_size'],
  ])('fails %s', (_name, d, line) => {
    const { problems } = judgeDrift([{ address: 'aws_lambda_function.f', resourceType: 'aws_lambda_function', ...d }]);
    expect(problems).toEqual([line]);
  });
});
