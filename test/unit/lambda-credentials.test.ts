import { describe, expect, it } from 'vitest';
import { credentialsFromEnv, defaultProvider } from '../../functions/orchestrator/lambda-credentials.js';

describe('Lambda credentials from the environment', () => {
  it('reads the key, secret, session token and expiration Lambda sets', () => {
    const creds = credentialsFromEnv({
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_CREDENTIAL_EXPIRATION: '2026-12-03T18:00:00Z',
    });

    expect(creds).toEqual({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date('2026-12-03T18:00:00Z') });
  });

  it('leaves out the session token and expiration when they are not set', () => {
    expect(credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' })).toEqual({ accessKeyId: 'a', secretAccessKey: 's' });
  });

  it.each([
    ['AWS_ACCESS_KEY_ID', { AWS_SECRET_ACCESS_KEY: 's' }],
    ['AWS_SECRET_ACCESS_KEY', { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: '' }],
  ])('names %s when it is missing', (name, env) => {
    expect(() => credentialsFromEnv(env)).toThrow(`environment variable ${name} is not set`);
  });

  it('is what the SDK clients call: a provider reading the process environment when asked', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ACCESS_KEY_ID = 'late';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret';
      await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'late' });
    } finally {
      process.env = saved;
    }
  });
});
