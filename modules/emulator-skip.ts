import type { IConstruct } from 'constructs';
import { TerraformResource } from 'cdktf';

/**
 * For verify:deploy only: resource types an emulator cannot create are taken out of the synthesized stack
 * (verify:infra still validates and plans them). Never set for a real deployment: main.ts reads the variable,
 * and an unset or empty one changes nothing.
 */

/** Comma-separated Terraform resource types left out of the synthesized stack (e.g. `aws_backup_selection`). */
export const EMULATOR_SKIP_ENV = 'ECS_DB_BACKUP_EMULATOR_SKIP_TYPES';

/** The resource types named in the variable's value. */
export function skippedTypes(value: string | undefined): string[] {
  return (value ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
}

/** Removes every resource of the given types under `scope`; returns the paths removed. Nothing may refer to them. */
export function removeResourceTypes(scope: IConstruct, types: readonly string[]): string[] {
  if (types.length === 0) return [];
  const doomed = scope.node.findAll().filter((c): c is TerraformResource => c instanceof TerraformResource && types.includes(c.terraformResourceType));
  for (const resource of doomed) resource.node.scope?.node.tryRemoveChild(resource.node.id);
  return doomed.map((r) => r.node.path);
}
