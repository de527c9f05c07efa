import { parseConfig } from '../../functions/shared/config/load.js';
import { ConfigError } from '../../functions/shared/errors.js';

/** The problems parseConfig reports for `config`; fails when it is accepted. */
export function problemsOf(config: unknown): readonly string[] {
  try {
    parseConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}
