import * as z from 'zod';

/** Field schemas used by more than one part of the configuration. */

/** A string held to a pattern; the message says what it must be. */
export const pattern = (re: RegExp, what: string) => z.string().regex(re, { message: `must be ${what}` });

/** An AWS region name. */
export const regionName = pattern(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'an AWS region like "eu-west-1"');

/** A KMS key ARN (IAM policies need the key's ARN, not an alias). */
export const kmsKeyArn = pattern(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN');

/** An S3 bucket name. */
export const bucketName = pattern(
  /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  'a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
);

/** An IANA time zone name. */
export const timeZone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    ctx.addIssue({ code: 'custom', message: `is not an IANA time zone (for example "UTC" or "Europe/Berlin")` });
  }
});
