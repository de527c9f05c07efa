/** The parts of an ARN the checks need. */
export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

/** Splits `arn:partition:service:region:account:resource`; undefined when it is not an ARN. */
export function parseArn(arn: string): ArnParts | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition = '', service = '', region = '', account = ''] = parts;
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}

/** The last path segment of a resource ARN (`…/name`), or the input when it has no slash. */
export function lastSegment(arnOrName: string): string {
  const i = arnOrName.lastIndexOf('/');
  return i === -1 ? arnOrName : arnOrName.slice(i + 1);
}
