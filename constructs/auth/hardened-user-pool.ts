import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { BaselineManifest } from '../core/manifest';
import { markKitResource } from '../core/metadata';
import { acknowledgeNag, type NagAcknowledgement } from '../core/nag';
import { throwIfProblems, wholeNumberProblem } from '../core/validation';

/** Properties of a {@link HardenedUserPool}. */
export interface HardenedUserPoolProps {
  /**
   * Name of the user pool.
   * @default - a name CloudFormation generates
   */
  readonly userPoolName?: string;

  /**
   * Whether users must set up a second factor (`Mfa.REQUIRED`) or may (`Mfa.OPTIONAL`). `Mfa.OFF` is rejected.
   * @default - cognito.Mfa.OPTIONAL
   */
  readonly mfa?: cognito.Mfa;

  /**
   * Offer SMS as a second factor besides TOTP authenticator apps. SMS codes cost money per message,
   * can be intercepted (SIM swapping) and need an IAM role for Cognito to publish through SNS.
   * @default false - TOTP only
   */
  readonly smsMfa?: boolean;

  /**
   * Minimum password length. Every character class (lower case, upper case, digit, symbol) is always required.
   * @default 12
   */
  readonly passwordMinLength?: number;

  /**
   * Whether people can sign themselves up. Users sign in with their e-mail address, which Cognito verifies.
   * @default true
   */
  readonly selfSignUpEnabled?: boolean;

  /**
   * The user pool feature plan. Only `FeaturePlan.PLUS` turns on threat protection (enforced): it blocks
   * compromised credentials and risky sign-ins, and it is Cognito's most expensive plan, billed per monthly
   * active user, so the kit never selects it for you.
   * @default - cognito.FeaturePlan.ESSENTIALS (no threat protection)
   */
  readonly featurePlan?: cognito.FeaturePlan;

  /**
   * Name of the app client.
   * @default - a name CloudFormation generates
   */
  readonly clientName?: string;

  /**
   * Whether the app client has a client secret. A browser or mobile app (public client) cannot keep a secret;
   * set this only for a confidential server-side client.
   * @default false
   */
  readonly generateSecret?: boolean;

  /**
   * How users authenticate with the app client. Refresh tokens are exchanged through refresh-token rotation
   * (`GetTokensFromRefreshToken`), so `ALLOW_REFRESH_TOKEN_AUTH` is never added.
   * @default - { userSrp: true } (Secure Remote Password: the password never leaves the client)
   */
  readonly authFlows?: cognito.AuthFlow;

  /**
   * Validity of access tokens, whole minutes from 5 minutes to 1 day, at most the refresh token validity.
   * @default - Duration.minutes(15)
   */
  readonly accessTokenValidity?: Duration;

  /**
   * Validity of ID tokens, whole minutes from 5 minutes to 1 day, at most the refresh token validity.
   * @default - Duration.minutes(15)
   */
  readonly idTokenValidity?: Duration;

  /**
   * Validity of refresh tokens, whole minutes from 60 minutes to 3650 days. After it, users sign in again.
   * @default - Duration.days(30)
   */
  readonly refreshTokenValidity?: Duration;

  /**
   * Refresh tokens rotate on every use (each refresh returns a new refresh token and invalidates the old
   * one); this is how long the old token still works, so that a retried request succeeds. 0 to 60 seconds.
   * @default - Duration.seconds(10)
   */
  readonly refreshTokenRotationGracePeriod?: Duration;

  /**
   * Callback URLs of the hosted sign-in (OAuth authorization code grant with PKCE; scopes openid, email and
   * profile). Each must use https, except http://localhost for local development.
   * @default - no callback URLs: OAuth is turned off on the app client
   */
  readonly callbackUrls?: string[];

  /**
   * Sign-out URLs of the hosted sign-in; only with `callbackUrls`. Same rules as callback URLs.
   * @default - none
   */
  readonly logoutUrls?: string[];
}

/** The smallest token lifetime Cognito accepts for access and ID tokens. */
const MIN_TOKEN = Duration.minutes(5);
/** The largest token lifetime Cognito accepts for access and ID tokens. */
const MAX_TOKEN = Duration.days(1);
const MIN_REFRESH = Duration.minutes(60);
const MAX_REFRESH = Duration.days(3650);
const LOCALHOST_URL = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?(\/\S*)?$/;
const HTTPS_URL = /^https:\/\/[^\s/]+(\/\S*)?$/;

/**
 * A Cognito user pool and one app client with production defaults: strong passwords, MFA (TOTP),
 * short-lived tokens with refresh-token rotation and revocation, no user-existence leaks, e-mail-only
 * account recovery and deletion protection. Threat protection is enforced only on the Plus feature plan,
 * which you opt into with `featurePlan: FeaturePlan.PLUS`.
 *
 * The user pool is the child `Resource`, the app client `Client`; both IDs are a public contract.
 */
export class HardenedUserPool extends Construct {
  /** The user pool. */
  public readonly userPool: cognito.UserPool;
  /** The app client. */
  public readonly client: cognito.UserPoolClient;
  /** The feature plan of the user pool. */
  public readonly featurePlan: cognito.FeaturePlan;

  constructor(scope: Construct, id: string, props: HardenedUserPoolProps = {}) {
    super(scope, id);
    const mfa = props.mfa ?? cognito.Mfa.OPTIONAL;
    const featurePlan = props.featurePlan ?? cognito.FeaturePlan.ESSENTIALS;
    const minLength = props.passwordMinLength ?? 12;
    const accessTokenValidity = props.accessTokenValidity ?? Duration.minutes(15);
    const idTokenValidity = props.idTokenValidity ?? Duration.minutes(15);
    const refreshTokenValidity = props.refreshTokenValidity ?? Duration.days(30);
    const gracePeriod = props.refreshTokenRotationGracePeriod ?? Duration.seconds(10);
    const plus = featurePlan === cognito.FeaturePlan.PLUS;
    this.featurePlan = featurePlan;

    throwIfProblems(this, [
      mfa !== cognito.Mfa.OPTIONAL &&
        mfa !== cognito.Mfa.REQUIRED &&
        `mfa must be Mfa.OPTIONAL or Mfa.REQUIRED, got ${mfa}`,
      wholeNumberProblem('passwordMinLength', minLength, 12, 99),
      tokenProblem('accessTokenValidity', accessTokenValidity, MIN_TOKEN, MAX_TOKEN),
      tokenProblem('idTokenValidity', idTokenValidity, MIN_TOKEN, MAX_TOKEN),
      tokenProblem('refreshTokenValidity', refreshTokenValidity, MIN_REFRESH, MAX_REFRESH),
      longerThanRefresh('accessTokenValidity', accessTokenValidity, refreshTokenValidity),
      longerThanRefresh('idTokenValidity', idTokenValidity, refreshTokenValidity),
      !Token.isUnresolved(gracePeriod.toMilliseconds()) &&
        (gracePeriod.toMilliseconds() > 60_000 || gracePeriod.toMilliseconds() % 1000 !== 0) &&
        `refreshTokenRotationGracePeriod must be a whole number of seconds from 0 to 60, got ${gracePeriod.toHumanString()}`,
      props.callbackUrls?.length === 0 &&
        'callbackUrls must list at least one URL, or be left out to turn OAuth off, got an empty list',
      props.logoutUrls !== undefined &&
        props.callbackUrls === undefined &&
        'logoutUrls need callbackUrls: without callback URLs OAuth is off',
      ...urlProblems('callbackUrls', props.callbackUrls),
      ...urlProblems('logoutUrls', props.logoutUrls),
    ]);

    this.userPool = new cognito.UserPool(this, 'Resource', {
      userPoolName: props.userPoolName,
      featurePlan,
      // Threat protection exists only on the Plus plan; enforce it when the user pays for it.
      standardThreatProtectionMode: plus ? cognito.StandardThreatProtectionMode.FULL_FUNCTION : undefined,
      selfSignUpEnabled: props.selfSignUpEnabled ?? true,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      // A changed e-mail address takes effect only once verified, so nobody locks a user out with a typo.
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa,
      mfaSecondFactor: { otp: true, sms: props.smsMfa ?? false, email: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    markKitResource(this.userPool, 'HardenedUserPool', 'user-pool');

    const oAuth = props.callbackUrls !== undefined;
    this.client = this.userPool.addClient('Client', {
      userPoolClientName: props.clientName,
      generateSecret: props.generateSecret ?? false,
      authFlows: props.authFlows ?? { userSrp: true },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity,
      idTokenValidity,
      refreshTokenValidity,
      refreshTokenRotationGracePeriod: gracePeriod,
      disableOAuth: !oAuth,
      oAuth: oAuth
        ? {
            flows: { authorizationCodeGrant: true },
            scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
            callbackUrls: props.callbackUrls,
            logoutUrls: props.logoutUrls,
          }
        : undefined,
    });

    this.acknowledgeFindings(mfa, plus, props.smsMfa ?? false);

    BaselineManifest.of(this).addEntry(this, {
      role: 'user-pool',
      construct: 'HardenedUserPool',
      attributes: { userPoolId: this.userPool.userPoolId, clientId: this.client.userPoolClientId },
    });
  }

  private acknowledgeFindings(mfa: cognito.Mfa, plus: boolean, sms: boolean): void {
    const findings: NagAcknowledgement[] = [];
    if (sms) {
      findings.push({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The role aws-cdk-lib creates for SMS MFA (smsMfa: true) may only sns:Publish, and SNS has no resource ARN for a text message to a phone number; the role trusts only Cognito, with an external ID.',
      });
    }
    if (mfa === cognito.Mfa.OPTIONAL) {
      findings.push({
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional by choice (mfa: Mfa.OPTIONAL): every user can turn on TOTP, and requiring it at sign-up loses users of an early product; set mfa: Mfa.REQUIRED to enforce it.',
      });
    }
    if (!plus) {
      findings.push({
        id: 'AwsSolutions-COG8',
        reason:
          "Threat protection (compromised-credential and adaptive-authentication checks) needs Cognito's Plus feature plan, its most expensive tier, billed for every monthly active user with no free tier; the kit leaves that cost to an explicit choice (featurePlan: FeaturePlan.PLUS, which enforces threat protection). Strong passwords, MFA and short-lived tokens apply on every plan.",
      });
    }
    if (findings.length > 0) acknowledgeNag(this.userPool, ...findings);
  }
}

/** The problem with a token lifetime, or undefined when it is fine or an unresolved Token. */
function tokenProblem(name: string, value: Duration, min: Duration, max: Duration): string | undefined {
  const ms = value.toMilliseconds();
  if (Token.isUnresolved(ms)) return undefined;
  if (ms >= min.toMilliseconds() && ms <= max.toMilliseconds() && ms % 60_000 === 0) return undefined;
  return `${name} must be a whole number of minutes from ${min.toHumanString()} to ${max.toHumanString()}, got ${value.toHumanString()}`;
}

/** The problem when a token outlives the refresh token, which Cognito rejects. */
function longerThanRefresh(name: string, value: Duration, refresh: Duration): string | undefined {
  const ms = value.toMilliseconds();
  const refreshMs = refresh.toMilliseconds();
  if (Token.isUnresolved(ms) || Token.isUnresolved(refreshMs) || ms <= refreshMs) return undefined;
  return `${name} must not be longer than refreshTokenValidity (${refresh.toHumanString()}), got ${value.toHumanString()}`;
}

/** Problems with OAuth URLs: https only, except http://localhost for local development. */
function urlProblems(name: string, urls: readonly string[] | undefined): string[] {
  return (urls ?? []).flatMap((url, i) =>
    Token.isUnresolved(url) || HTTPS_URL.test(url) || LOCALHOST_URL.test(url)
      ? []
      : [`${name}[${i}] must be an https:// URL (http:// only for localhost), got "${url}"`],
  );
}
