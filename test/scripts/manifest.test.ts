import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AlertTopic } from '../../constructs';
import { MANIFEST_SCHEMA } from '../../constructs/core/manifest';
import { entriesOfRole, ManifestError, parseManifest, readManifest } from '../../scripts/lib/manifest';
import { cdkJsonContext } from '../helpers';
import { type Moto, startMoto } from '../moto';

let moto: Moto;
let clients: { cloudFormation: CloudFormationClient; ssm: SSMClient };

beforeAll(async () => {
  moto = await startMoto();
  clients = { cloudFormation: new CloudFormationClient(moto.clientConfig), ssm: new SSMClient(moto.clientConfig) };
}, 30_000);
afterAll(async () => {
  clients?.cloudFormation.destroy();
  clients?.ssm.destroy();
  await moto?.stop();
});
beforeEach(() => moto.reset());

/** A real kit stack, synthesized and created in moto (which skips resource types it does not know). */
async function deployKitStack(stackName: string): Promise<void> {
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'Kit', {
    stackName,
    env: { region: 'us-east-1' },
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
  new AlertTopic(stack, 'Alerts', { emails: ['oncall@example.com'] });
  const template = Template.fromStack(stack).toJSON();
  await clients.cloudFormation.send(
    new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template) }),
  );
}

describe('readManifest', () => {
  test('reads the manifest a deployed kit stack wrote, through its stack output', async () => {
    await deployKitStack('Shop');
    const manifest = await readManifest(clients, 'Shop');
    expect(manifest).toMatchObject({ schema: MANIFEST_SCHEMA, stackName: 'Shop' });
    const [alerts] = entriesOfRole(manifest, 'alert-topic');
    expect(alerts).toMatchObject({ path: 'Alerts', construct: 'AlertTopic' });
    expect(alerts.attributes.topicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:/);
  });

  test('fails with one line when the stack does not exist', async () => {
    await expect(readManifest(clients, 'Nope')).rejects.toThrow(
      new ManifestError('stack "Nope" does not exist in us-east-1'),
    );
  });

  test('fails with one line when the stack was not deployed with the kit', async () => {
    await clients.cloudFormation.send(
      new CreateStackCommand({
        StackName: 'Plain',
        TemplateBody: JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } }),
      }),
    );
    await expect(readManifest(clients, 'Plain')).rejects.toThrow(
      'stack "Plain" has no ProdBaselineManifest output: it was not deployed with prod-baseline constructs',
    );
  });

  test('fails when the parameter the output names is gone', async () => {
    await clients.cloudFormation.send(
      new CreateStackCommand({
        StackName: 'Orphan',
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
          Outputs: { ProdBaselineManifest: { Value: '/prod-baseline/Orphan/manifest' } },
        }),
      }),
    );
    await expect(readManifest(clients, 'Orphan')).rejects.toThrow(
      'the manifest parameter /prod-baseline/Orphan/manifest of stack "Orphan" does not exist',
    );
  });

  test('fails on a manifest from a newer kit', async () => {
    await clients.ssm.send(
      new PutParameterCommand({
        Name: '/m',
        Type: 'String',
        Value: JSON.stringify({ schema: MANIFEST_SCHEMA + 1, kitVersion: '9.0.0', stackName: 'X', entries: {} }),
      }),
    );
    await clients.cloudFormation.send(
      new CreateStackCommand({
        StackName: 'Future',
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
          Outputs: { ProdBaselineManifest: { Value: '/m' } },
        }),
      }),
    );
    await expect(readManifest(clients, 'Future')).rejects.toThrow(
      `the manifest in /m has schema ${MANIFEST_SCHEMA + 1}, written by prod-baseline 9.0.0; this version reads schema ${MANIFEST_SCHEMA} or older: upgrade prod-baseline`,
    );
  });
});

describe('parseManifest', () => {
  test('fails on text that is not JSON, or JSON that is not a manifest', () => {
    expect(() => parseManifest('{', 'p')).toThrow('the manifest in p is not JSON');
    expect(() => parseManifest('{"a":1}', 'p')).toThrow(
      'the manifest in p is not a prod-baseline manifest (no schema or entries)',
    );
  });

  test('entriesOfRole returns every entry of a role in path order', () => {
    const manifest = parseManifest(
      JSON.stringify({
        schema: 1,
        kitVersion: '0.1.0',
        stackName: 'S',
        entries: {
          'Orders/Db': { role: 'database', construct: 'ResilientDatabase', attributes: { a: '1' } },
          Billing: { role: 'database', construct: 'ResilientDatabase', attributes: { a: '2' } },
          Alerts: { role: 'alert-topic', construct: 'AlertTopic', attributes: {} },
        },
      }),
      'p',
    );
    expect(entriesOfRole(manifest, 'database').map((e) => e.path)).toEqual(['Billing', 'Orders/Db']);
    expect(entriesOfRole(manifest, 'canary')).toEqual([]);
  });
});
