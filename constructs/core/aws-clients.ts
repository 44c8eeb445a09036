// Shared by the kit's Lambda handlers and its commands: no aws-cdk-lib imports (bundled into handlers).

/** Bounded retries and timeouts for every AWS SDK client the kit creates. */
export const AWS_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
} as const;
