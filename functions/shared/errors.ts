/** Base class of every error this project throws on purpose; `name` is the subclass name, `cause` is kept. */
export class BackupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration file is missing, unreadable or invalid; the message names each bad field. */
export class ConfigError extends BackupError {
  constructor(
    message: string,
    /** One entry per problem: `<json path>: <what is wrong>`. */
    readonly problems: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Reads the message of anything thrown, for logs and error chains. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
