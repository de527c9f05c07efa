/** An AWS API endpoint (the emulator) and credentials allowed to do everything in it. */
export interface AwsEndpoint {
  /** `http://127.0.0.1:<port>`: the value of AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Configuration for an AWS SDK v3 client of any service in `region`. */
  clientConfig(region: string): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
}

/** An {@link AwsEndpoint} for `endpoint` with these credentials. */
export function awsEndpoint(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }): AwsEndpoint {
  return {
    endpoint,
    ...credentials,
    clientConfig: (region) => ({ endpoint, region, credentials: { ...credentials } }),
  };
}
