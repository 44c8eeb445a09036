import { PRODUCTION_SETTINGS, synthBaseline } from '../helpers';

// Invariants over every resource of the synthesized baseline, in both profiles: a new resource that
// breaks one fails here, whoever added it.
describe.each([
  ['dev', {}],
  ['production', PRODUCTION_SETTINGS],
])('data handling (%s)', (_profile, settings) => {
  const resources = () => Object.entries<any>(synthBaseline(settings).json.Resources);

  test('every log group has a retention (never "never expire")', () => {
    const withoutRetention = resources()
      .filter(([, r]) => r.Type === 'AWS::Logs::LogGroup' && !(r.Properties?.RetentionInDays > 0))
      .map(([id]) => id);
    expect(withoutRetention).toEqual([]);
    for (const [, r] of resources().filter(([, r]) => r.Type === 'Custom::LogRetention')) {
      expect(r.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test('every bucket blocks public access, is encrypted and refuses plain HTTP', () => {
    const all = resources();
    const buckets = all.filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    expect(buckets.length).toBeGreaterThan(0);
    for (const [id, bucket] of buckets) {
      expect([id, bucket.Properties.PublicAccessBlockConfiguration]).toEqual([
        id,
        { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      ]);
      expect(bucket.Properties.BucketEncryption?.ServerSideEncryptionConfiguration?.length).toBeGreaterThan(0);
      const policy = all.find(([, r]) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket?.Ref === id);
      const denies = JSON.stringify(policy?.[1].Properties.PolicyDocument.Statement ?? []);
      expect([id, denies]).toEqual([id, expect.stringContaining('"aws:SecureTransport":"false"')]);
    }
  });

  test('no container has a secret in its plain environment', () => {
    const suspicious = /PASSWORD|SECRET(?!_ARN)|TOKEN|API_KEY|PRIVATE_KEY/i;
    for (const [, r] of resources().filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')) {
      for (const container of r.Properties.ContainerDefinitions) {
        const names = (container.Environment ?? []).map((e: { Name: string }) => e.Name);
        expect(names.filter((n: string) => suspicious.test(n))).toEqual([]);
        expect(JSON.stringify(container.Environment ?? [])).not.toContain('{{resolve:secretsmanager');
      }
    }
  });

  test('every KMS key rotates and is retained; every secret is encrypted with a kit key or is a routing token', () => {
    for (const [id, key] of resources().filter(([, r]) => r.Type === 'AWS::KMS::Key')) {
      expect([id, key.Properties.EnableKeyRotation, key.DeletionPolicy]).toEqual([id, true, 'Retain']);
    }
    const unencrypted = resources()
      .filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret' && !r.Properties.KmsKeyId)
      .map(([id]) => id);
    expect(unencrypted).toEqual([expect.stringMatching(/^TrafficTestTrafficSecret/)]);
  });

  test('the database and its backups are encrypted and reachable over TLS only', () => {
    const [, db] = resources().find(([, r]) => r.Type === 'AWS::RDS::DBInstance') as [string, any];
    expect(db.Properties.StorageEncrypted).toBe(true);
    const [, parameters] = resources().find(([, r]) => r.Type === 'AWS::RDS::DBParameterGroup') as [string, any];
    expect(parameters.Properties.Parameters['rds.force_ssl']).toBe('1');
  });
});
