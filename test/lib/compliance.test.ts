import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { buildBaselineApp } from '../../lib/app';
import { COMPLIANCE_ACKNOWLEDGEMENTS } from '../../lib/compliance';
import { cdkJsonContext, settingsContext } from '../helpers';

const HTTPS_PRODUCTION = {
  profile: 'production',
  alertEmails: 'oncall@example.com',
  domainName: 'app.example.com',
  certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
};

describe('cdk-nag HIPAA Security and NIST 800-53 rev 5 on the HTTPS production baseline', () => {
  test('every finding is fixed or acknowledged by rule with a reason (a new finding fails)', () => {
    const { app } = buildBaselineApp({ context: { ...cdkJsonContext(), ...settingsContext(HTTPS_PRODUCTION) } });
    Validations.of(app).addPlugins(new HIPAASecurityChecks(app), new NIST80053R5Checks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('exactly these rules are acknowledged, each with a reason', () => {
    expect(Object.keys(COMPLIANCE_ACKNOWLEDGEMENTS).sort()).toEqual([
      'CloudWatchAlarmAction',
      'CloudWatchLogGroupEncrypted',
      'EC2RestrictedCommonPorts',
      'EC2RestrictedSSH',
      'ELBv2ACMCertificateRequired',
      'IAMNoInlinePolicy',
      'LambdaConcurrency',
      'LambdaDLQ',
      'LambdaInsideVPC',
      'S3BucketLoggingEnabled',
      'S3BucketReplicationEnabled',
      'S3BucketVersioningEnabled',
      'S3DefaultEncryptionKMS',
      'SecretsManagerRotationEnabled',
      'SecretsManagerUsingKMSKey',
      'VPCNoUnrestrictedRouteToIGW',
    ]);
    for (const reason of Object.values(COMPLIANCE_ACKNOWLEDGEMENTS)) expect(reason.length).toBeGreaterThan(60);
  });

  test('fails on a finding of a rule the baseline does not acknowledge', () => {
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'Other', { env: { region: 'us-east-1' } });
    new s3.Bucket(stack, 'Public', { enforceSSL: true });
    Validations.of(app).addPlugins(new HIPAASecurityChecks(app));
    expect(() => app.synth()).toThrow(/HIPAA\.Security::HIPAA\.Security-S3BucketLoggingEnabled/);
  });
});
