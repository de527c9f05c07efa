import { describe, expect, it } from 'vitest';
import {
  ecsTargetId,
  encryptionContext,
  handshakeCompletePayload,
  HandshakeMessageError,
  handshakeRequestPayload,
  handshakeResponsePayload,
  parseHandshakeRequest,
  parseHandshakeResponse,
} from '../../functions/shared/exec/kms-handshake.js';

describe('handshake messages', () => {
  it('reads the agent request of a KMS-encrypted InteractiveCommands session (specs §1.8)', () => {
    const payload = Buffer.from(
      '{"AgentVersion":"3.3.40.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":{"SessionType":"InteractiveCommands","Properties":null}},{"ActionType":"KMSEncryption","ActionParameters":{"KMSKeyId":"arn:aws:kms:eu-west-1:123456789012:key/k","Challenge":"q83vEjRWeJA="}}]}',
    );
    expect(parseHandshakeRequest(payload)).toEqual({
      agentVersion: '3.3.40.0',
      sessionType: 'InteractiveCommands',
      kms: { keyId: 'arn:aws:kms:eu-west-1:123456789012:key/k', challenge: 'q83vEjRWeJA=' },
      unknownActions: [],
    });
  });

  it('reads a request without KMS, and one from an agent too old to send a challenge', () => {
    expect(parseHandshakeRequest(handshakeRequestPayload('3.0.0.0'))).toEqual({ agentVersion: '3.0.0.0', sessionType: 'InteractiveCommands', unknownActions: [] });
    expect(parseHandshakeRequest(handshakeRequestPayload('3.0.0.0', { keyId: 'k' })).kms).toEqual({ keyId: 'k' });
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no action list', '{"AgentVersion":"3"}', /no RequestedClientActions/],
    ['a KMS action without a key', '{"RequestedClientActions":[{"ActionType":"KMSEncryption","ActionParameters":{}}]}', /names no KMSKeyId/],
  ])('refuses a request that is %s', (_name, text, message) => {
    expect(() => parseHandshakeRequest(Buffer.from(text))).toThrow(HandshakeMessageError);
    expect(() => parseHandshakeRequest(Buffer.from(text))).toThrow(message);
  });

  it('writes the HandshakeResponse in the plugin field order, and reads it back', () => {
    const actions = [
      { ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' },
      { ActionType: 'KMSEncryption', ActionStatus: 1, ActionResult: { KMSCipherTextKey: 'YmxvYg==', KMSCipherTextHash: null, ChallengeAcknowledgement: true }, Error: '' },
    ];
    const payload = handshakeResponsePayload(actions);
    expect(payload.toString()).toBe(
      '{"ClientVersion":"1.2.0.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""},{"ActionType":"KMSEncryption","ActionStatus":1,"ActionResult":{"KMSCipherTextKey":"YmxvYg==","KMSCipherTextHash":null,"ChallengeAcknowledgement":true},"Error":""}],"Errors":null}',
    );
    expect(parseHandshakeResponse(payload)).toEqual(actions);
  });

  it('builds the encryption context, with the random challenge only when acknowledged', () => {
    expect(encryptionContext('ecs-execute-command-1', 'ecs:db_t_r')).toEqual({ 'aws:ssm:SessionId': 'ecs-execute-command-1', 'aws:ssm:TargetId': 'ecs:db_t_r' });
    expect(encryptionContext('s', 't', 'c')).toEqual({ 'aws:ssm:SessionId': 's', 'aws:ssm:TargetId': 't', 'aws:ssm:RandomChallenge': 'c' });
  });

  it('builds the ECS target id like aws-cli, from ARNs or names', () => {
    const id = 'ecs:prod_0123456789abcdef0123456789abcdef_0123456789abcdef0123456789abcdef-2531612879';
    expect(ecsTargetId('arn:aws:ecs:eu-west-1:123456789012:cluster/prod', 'arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef0123456789abcdef', '0123456789abcdef0123456789abcdef-2531612879')).toBe(id);
    expect(ecsTargetId('prod', '0123456789abcdef0123456789abcdef', '0123456789abcdef0123456789abcdef-2531612879')).toBe(id);
  });

  it('writes HandshakeComplete with the duration in nanoseconds', () => {
    expect(handshakeCompletePayload(1_234_567_890_123n, true).toString()).toBe('{"HandshakeTimeToComplete":1234567890123,"CustomerMessage":"This session is encrypted using AWS KMS."}');
    expect(JSON.parse(handshakeCompletePayload(5n, false).toString())).toEqual({ HandshakeTimeToComplete: 5, CustomerMessage: '' });
  });
});
