import { describe, expect, it } from 'vitest';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { parseDbSecret, SecretFormatError, targetWithConnection } from '../../functions/shared/core/db-secret.js';

const SOURCE = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/app-AbCdEf';
const PASSWORD = 'p"a\'ss w\\ord';
const RDS = { engine: 'postgres', host: 'app.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432, username: 'backup', password: PASSWORD, dbname: 'app' };

describe('parseDbSecret', () => {
  it.each([
    ['an RDS-managed secret', RDS, { username: 'backup', host: RDS.host, port: 5432, dbname: 'app', engine: 'postgres' }],
    ['a seed-style endpoint with its port', { username: 'u', password: 'x', endpoint: 'db.internal:6543', dbname: 'app' }, { username: 'u', host: 'db.internal', port: 6543, dbname: 'app', engine: undefined }],
    ['a port as text and an Aurora engine', { ...RDS, port: '5433', engine: 'aurora-postgresql' }, { username: 'backup', host: RDS.host, port: 5433, dbname: 'app', engine: 'postgres' }],
    ['no port and no dbname (redis, mongodb)', { username: 'default', password: 'x', host: '10.0.0.5', engine: 'redis' }, { username: 'default', host: '10.0.0.5', port: undefined, dbname: undefined, engine: 'redis' }],
    ['DocumentDB', { ...RDS, engine: 'docdb' }, { username: 'backup', host: RDS.host, port: 5432, dbname: 'app', engine: 'mongodb' }],
  ])('reads %s', (_name, fields, expected) => {
    expect(parseDbSecret(JSON.stringify(fields), SOURCE)).toEqual(expected);
  });

  it.each([
    ['no SecretString', undefined, 'has no SecretString (binary secrets are not supported): store the JSON fields as text'],
    ['text that is not JSON', 'password=x', 'is not JSON: store {"username", "password", "host", "port", "dbname"} as a JSON object'],
    ['a JSON array', '[1]', 'is not a JSON object of fields'],
    ['no password', JSON.stringify({ ...RDS, password: undefined }), 'is missing the field "password"'],
    ['an empty username', JSON.stringify({ ...RDS, username: '' }), 'is missing the field "username"'],
    ['no host or endpoint', JSON.stringify({ ...RDS, host: undefined }), 'is missing the field "host" (or "endpoint")'],
    ['a host with shell characters', JSON.stringify({ ...RDS, host: 'db;rm -rf /' }), 'field "host" must be a host name or IPv4 address'],
    ['a port out of range', JSON.stringify({ ...RDS, port: 70000 }), 'field "port" must be a port number 1-65535'],
    ['a port that is not a number', JSON.stringify({ ...RDS, port: '54x' }), 'field "port" must be a port number 1-65535'],
    ['a user with a quote', JSON.stringify({ ...RDS, username: "o'brien" }), 'field "username" must be 1-63 letters, digits, underscores, dots, @ or hyphens'],
    ['a number as the password', JSON.stringify({ ...RDS, password: 1234 }), 'field "password" must be a string'],
    ['an unknown engine', JSON.stringify({ ...RDS, engine: 'oracle-ee' }), 'field "engine" names an engine this tool does not dump'],
  ])('refuses %s, naming the field and never the value', (_name, text, message) => {
    let error: unknown;
    try {
      parseDbSecret(text, SOURCE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as Error).message).toContain(`secret ${SOURCE}: ${message}`);
    expect((error as Error).message).not.toContain(PASSWORD);
  });
});

describe('targetWithConnection', () => {
  const target = targetSchema.parse({
    name: 'rds', engine: 'postgres', mode: 'task', cluster: 'c', database: 'app', secretArn: SOURCE,
    task: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
  });

  it('takes host, port and user from the secret and keeps the configured database', () => {
    const t = targetWithConnection(target, { ...parseDbSecret(JSON.stringify({ ...RDS, dbname: 'other' }), SOURCE) }, SOURCE);
    expect(t).toMatchObject({ host: RDS.host, port: 5432, user: 'backup', database: 'app' });
    expect(JSON.stringify(t)).not.toContain(PASSWORD);
  });

  it('refuses a secret of another engine', () => {
    expect(() => targetWithConnection(target, parseDbSecret(JSON.stringify({ ...RDS, engine: 'mysql' }), SOURCE), SOURCE)).toThrow(
      `secret ${SOURCE}: field "engine" says mysql, but target "rds" is engine postgres`,
    );
  });

  it('takes mysql and mariadb for one family', () => {
    const maria = targetSchema.parse({ ...target, engine: 'mariadb', task: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] } });
    expect(targetWithConnection(maria, parseDbSecret(JSON.stringify({ ...RDS, engine: 'aurora-mysql' }), SOURCE), SOURCE).engine).toBe('mariadb');
  });
});
