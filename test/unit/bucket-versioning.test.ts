import { describe, expect, it } from 'vitest';
import { versioningProblem } from '../../functions/shared/core/bucket-versioning.js';

describe('versioningProblem', () => {
  it('finds nothing wrong with versioning enabled', () => {
    expect(versioningProblem('b', 'Enabled')).toBeNull();
  });

  it.each([
    ['Suspended', 'bucket b has versioning suspended: each weekday key keeps only its latest backup, older weeks are lost'],
    [undefined, 'bucket b has never had versioning enabled: each weekday key keeps only its latest backup, older weeks are lost'],
  ])('says what status %s means and how to fix it', (status, problem) => {
    expect(versioningProblem('b', status)).toEqual({ problem, fix: 'enable versioning: aws s3api put-bucket-versioning --bucket b --versioning-configuration Status=Enabled' });
  });
});
