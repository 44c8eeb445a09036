import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { HardenedUserPool, type HardenedUserPoolProps } from '../../../constructs/auth/hardened-user-pool';
import { METADATA_KEY } from '../../../constructs/core/metadata';
import { cfnLint, logicalId, testApp } from '../../helpers';

/** Synthesizes a stack with the pool; `Template.fromStack` runs cdk-nag AwsSolutions and fails on findings. */
function poolStack(props: HardenedUserPoolProps = {}) {
  const stack = new Stack(testApp(), 'Shop', { env: { region: 'eu-west-1' } });
  const pool = new HardenedUserPool(stack, 'Auth', props);
  const template = Template.fromStack(stack);
  return { stack, pool, template, json: template.toJSON() };
}

function build(props: HardenedUserPoolProps): () => HardenedUserPool {
  return () => new HardenedUserPool(new Stack(testApp(), 'Shop'), 'Auth', props);
}

const PLUS: HardenedUserPoolProps = {
  featurePlan: cognito.FeaturePlan.PLUS,
  mfa: cognito.Mfa.REQUIRED,
  smsMfa: true,
  callbackUrls: ['https://app.example.com/callback', 'http://localhost:3000/callback'],
  logoutUrls: ['https://app.example.com/'],
};

describe('user pool defaults', () => {
  test('a password policy of 12 characters, every character class, temporary passwords valid 3 days', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 3,
        },
      },
    });
  });

  test('MFA is optional with TOTP only: no SMS and no SMS role', () => {
    const { template } = poolStack();
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      SmsConfiguration: Match.absent(),
    });
    template.resourceCountIs('AWS::IAM::Role', 0);
  });

  test('self sign-up with the e-mail address as user name, verified, and recovery by e-mail only', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: false },
      UsernameAttributes: ['email'],
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
    });
  });

  test('deletion protection on and the pool retained on stack deletion and replacement', () => {
    poolStack().template.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({ DeletionProtection: 'ACTIVE' }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('the Essentials feature plan without threat protection', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'ESSENTIALS',
      UserPoolAddOns: Match.absent(),
    });
  });

  test('self sign-up can be turned off', () => {
    poolStack({ selfSignUpEnabled: false }).template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
  });
});

describe('app client defaults', () => {
  test('user-existence errors prevented, token revocation on, no client secret, SRP only', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH'],
    });
  });

  test('access and ID tokens live 15 minutes and refresh tokens 30 days, all in minutes', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AccessTokenValidity: 15,
      IdTokenValidity: 15,
      RefreshTokenValidity: 30 * 24 * 60,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
    });
  });

  test('refresh tokens rotate with a 10-second grace period', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      RefreshTokenRotation: { Feature: 'ENABLED', RetryGracePeriodSeconds: 10 },
    });
  });

  test('OAuth is off without callback URLs', () => {
    poolStack().template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: false,
      AllowedOAuthFlows: Match.absent(),
      CallbackURLs: Match.absent(),
    });
  });

  test('token lifetimes and the grace period are configurable', () => {
    poolStack({
      accessTokenValidity: Duration.minutes(5),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      refreshTokenRotationGracePeriod: Duration.seconds(0),
    }).template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AccessTokenValidity: 5,
      IdTokenValidity: 60,
      RefreshTokenValidity: 720,
      RefreshTokenRotation: { Feature: 'ENABLED', RetryGracePeriodSeconds: 0 },
    });
  });

  test('a confidential client can have a secret', () => {
    poolStack({ generateSecret: true }).template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: true,
    });
  });
});

describe('Plus plan, required MFA, SMS and OAuth', () => {
  test('threat protection is enforced only on the Plus plan', () => {
    poolStack(PLUS).template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'PLUS',
      // StandardThreatProtectionMode.FULL_FUNCTION is CloudFormation's AdvancedSecurityMode ENFORCED.
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
    });
  });

  test('required MFA offers TOTP and SMS when asked', () => {
    poolStack(PLUS).template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      EnabledMfas: ['SMS_MFA', 'SOFTWARE_TOKEN_MFA'],
      SmsConfiguration: Match.objectLike({ ExternalId: Match.anyValue() }),
    });
  });

  test('callback URLs turn on the authorization code grant with openid, email and profile', () => {
    poolStack(PLUS).template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: ['https://app.example.com/callback', 'http://localhost:3000/callback'],
      LogoutURLs: ['https://app.example.com/'],
    });
  });
});

describe('contract', () => {
  test('the user pool and the client keep their logical IDs', () => {
    const { stack, pool } = poolStack();
    expect(logicalId(stack, pool.userPool)).toBe('Auth55780030');
    expect(logicalId(stack, pool.client)).toBe('AuthClientD11C46A7');
  });

  test('the user pool is marked as a kit resource and listed in the manifest', () => {
    const { stack, pool, json } = poolStack();
    expect(json.Resources[logicalId(stack, pool.userPool)].Metadata[METADATA_KEY]).toMatchObject({
      role: 'user-pool',
      construct: 'HardenedUserPool',
    });
    const manifest = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SSM::Parameter');
    const text = JSON.stringify(manifest.Properties.Value);
    expect(text).toContain('\\"role\\":\\"user-pool\\"');
    expect(text).toContain(`{"Ref":"${logicalId(stack, pool.userPool)}"}`);
    expect(text).toContain(`{"Ref":"${logicalId(stack, pool.client)}"}`);
  });
});

describe('validation', () => {
  test('fails on MFA turned off', () => {
    expect(build({ mfa: cognito.Mfa.OFF })).toThrow('Shop/Auth: mfa must be Mfa.OPTIONAL or Mfa.REQUIRED, got OFF');
  });

  const cases: [HardenedUserPoolProps, string][] = [
    [{ passwordMinLength: 8 }, 'passwordMinLength must be a whole number from 12 to 99, got 8'],
    [
      { accessTokenValidity: Duration.minutes(2) },
      'accessTokenValidity must be a whole number of minutes from 5 minutes to 1 day, got 2 minutes',
    ],
    [
      { idTokenValidity: Duration.days(2) },
      'idTokenValidity must be a whole number of minutes from 5 minutes to 1 day, got 2 days',
    ],
    [
      { idTokenValidity: Duration.seconds(330) },
      'idTokenValidity must be a whole number of minutes from 5 minutes to 1 day, got 5 minutes 30 seconds',
    ],
    [
      { refreshTokenValidity: Duration.minutes(30) },
      'refreshTokenValidity must be a whole number of minutes from 1 hour to 3650 days, got 30 minutes',
    ],
    [
      { refreshTokenValidity: Duration.hours(2), accessTokenValidity: Duration.hours(3) },
      'accessTokenValidity must not be longer than refreshTokenValidity (2 hours), got 3 hours',
    ],
    [
      { refreshTokenRotationGracePeriod: Duration.minutes(2) },
      'refreshTokenRotationGracePeriod must be a whole number of seconds from 0 to 60, got 2 minutes',
    ],
    [
      { callbackUrls: [] },
      'callbackUrls must list at least one URL, or be left out to turn OAuth off, got an empty list',
    ],
    [
      { callbackUrls: ['https://ok.example.com', 'http://app.example.com/cb'] },
      'callbackUrls[1] must be an https:// URL (http:// only for localhost), got "http://app.example.com/cb"',
    ],
    [{ logoutUrls: ['https://app.example.com/'] }, 'logoutUrls need callbackUrls: without callback URLs OAuth is off'],
  ];
  test.each(cases.map(([props, message]) => [message, props] as const))('fails: %s', (message, props) => {
    expect(build(props)).toThrow(`Shop/Auth: ${message}`);
  });

  test('fails with every problem at once', () => {
    expect(
      build({
        passwordMinLength: 6,
        accessTokenValidity: Duration.minutes(1),
        refreshTokenRotationGracePeriod: Duration.seconds(90),
      }),
    ).toThrow(
      'Shop/Auth: passwordMinLength must be a whole number from 12 to 99, got 6; ' +
        'accessTokenValidity must be a whole number of minutes from 5 minutes to 1 day, got 1 minute; ' +
        'refreshTokenRotationGracePeriod must be a whole number of seconds from 0 to 60, got 1 minute 30 seconds',
    );
  });
});

describe('cdk-nag and cfn-lint', () => {
  /** The AwsSolutions findings acknowledged in the stack, by rule ID, after cdk-nag passed on it. */
  function acknowledged(props: HardenedUserPoolProps): string[] {
    const { stack } = poolStack(props);
    return stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.keys(m.data))
      .sort();
  }

  test('cdk-nag passes on the defaults, acknowledging optional MFA and the plan without threat protection', () => {
    expect(acknowledged({})).toEqual(['AwsSolutions::AwsSolutions-COG2', 'AwsSolutions::AwsSolutions-COG8']);
  });

  test('cdk-nag passes on Plus with required MFA, acknowledging only the SMS role wildcard', () => {
    expect(acknowledged(PLUS)).toEqual(['AwsSolutions::AwsSolutions-IAM5[Resource::*]']);
  });

  test('cdk-nag passes with required MFA on Essentials, acknowledging only the plan', () => {
    expect(acknowledged({ mfa: cognito.Mfa.REQUIRED })).toEqual(['AwsSolutions::AwsSolutions-COG8']);
  });

  test.each([
    ['defaults', {}],
    ['Plus, required MFA, SMS and OAuth', PLUS],
  ])('cfn-lint reports nothing: %s', (_name, props) => {
    const result = cfnLint(poolStack(props).json);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});
