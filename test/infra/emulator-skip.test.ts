import { describe, expect, it } from 'vitest';
import { removeResourceTypes, skippedTypes } from '../../modules/emulator-skip.js';
import { BASE_CONFIG, synthStack } from '../helpers/synth.js';

// verify:deploy leaves out what moto cannot create (scripts/verify-deploy.ts PLAN_ONLY_RESOURCES); nothing else changes.

const WITH_SNAPSHOTS = { ...BASE_CONFIG, snapshots: { copyToRegion: { region: 'eu-central-1' } } };

describe('emulator skip', () => {
  it.each([
    [undefined, []],
    ['', []],
    [' aws_backup_selection , aws_x ,', ['aws_backup_selection', 'aws_x']],
  ])('reads %j as %j', (value, types) => {
    expect(skippedTypes(value)).toEqual(types);
  });

  it('removes only the resources of the named types', () => {
    const full = synthStack(WITH_SNAPSHOTS);
    let removed: string[] = [];
    const left = synthStack(WITH_SNAPSHOTS, (stack) => (removed = removeResourceTypes(stack, ['aws_backup_selection'])));
    expect(removed).toEqual(['test/dr/snapshots/selection']);
    const { aws_backup_selection: selection, ...rest } = full.resource!;
    expect(Object.keys(selection ?? {})).toHaveLength(1);
    expect(left.resource).toEqual(rest);
  });

  it('changes nothing without types', () => {
    let removed: string[] = ['not called'];
    const left = synthStack(WITH_SNAPSHOTS, (stack) => (removed = removeResourceTypes(stack, [])));
    expect(removed).toEqual([]);
    expect(left).toEqual(synthStack(WITH_SNAPSHOTS));
  });
});
