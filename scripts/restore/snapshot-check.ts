import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { snapshotTypeOf } from '../../functions/shared/core/snapshot-selection.js';
import { errorMessage } from '../../functions/shared/errors.js';
import { SnapshotApiError } from './snapshot-backup.js';
import type { RecoveryPoint } from './snapshot-plan.js';

/**
 * `npm run restore -- --snapshot --check`: are the resources that carry the snapshot tag's key actually
 * selected by the plan (one of the four types, and the exact value), and has each a recovery point?
 */

/** A resource carrying the tag key, with its tags. */
export interface TaggedResource {
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** What the check says of one resource. */
export interface SelectionFinding {
  readonly arn: string;
  readonly selected: boolean;
  readonly detail: string;
}

/** Judges each tagged resource against the plan's selection (the four types AND key = value) and the vaults' points. */
export function judgeSelection(tagged: readonly TaggedResource[], tag: { key: string; value: string }, points: readonly RecoveryPoint[]): SelectionFinding[] {
  return tagged.map((r) => {
    const value = r.tags[tag.key];
    if (value !== tag.value) {
      return { arn: r.arn, selected: false, detail: `tag ${tag.key}="${value ?? ''}" is not "${tag.value}" (the selection compares exactly, case included)` };
    }
    if (snapshotTypeOf(r.arn) === null) {
      return { arn: r.arn, selected: false, detail: 'not an EBS volume, EFS file system, DynamoDB table or RDS DB instance: the plan does not select this type' };
    }
    const newest = points.filter((p) => p.resourceArn === r.arn).reduce<RecoveryPoint | null>((a, p) => (a === null || p.createdAt > a.createdAt ? p : a), null);
    return {
      arn: r.arn,
      selected: true,
      detail: newest === null ? 'selected; no recovery point yet (the next backup window takes one)' : `selected; newest recovery point ${newest.createdAt.toISOString()} (${newest.status}, ${newest.region})`,
    };
  });
}

/** One line per resource, "ok" or "NOT SELECTED" first. */
export function formatFindings(findings: readonly SelectionFinding[], tagKey: string): string {
  if (findings.length === 0) return `no resource in the region carries the tag key "${tagKey}"\n`;
  return findings.map((f) => `${f.selected ? 'ok          ' : 'NOT SELECTED'}  ${f.arn}: ${f.detail}\n`).join('');
}

/** Every resource of the region that carries `tagKey` (any value), all pages. */
export async function listTaggedResources(tagging: ResourceGroupsTaggingAPIClient, tagKey: string): Promise<TaggedResource[]> {
  const out: TaggedResource[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await tagging.send(new GetResourcesCommand({ TagFilters: [{ Key: tagKey }], PaginationToken: token }));
    } catch (error) {
      throw new SnapshotApiError(`listing the resources tagged "${tagKey}" failed: ${errorMessage(error)}`, { cause: error });
    }
    for (const m of page.ResourceTagMappingList ?? []) {
      if (m.ResourceARN) out.push({ arn: m.ResourceARN, tags: Object.fromEntries((m.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])) });
    }
    token = page.PaginationToken || undefined;
  } while (token);
  return out;
}
