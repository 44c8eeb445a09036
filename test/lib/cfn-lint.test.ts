import { cfnLint, PRODUCTION_SETTINGS, requireTool, synthBaseline } from '../helpers';

beforeAll(() => requireTool('cfn-lint', 'pip install cfn-lint'));

describe('cfn-lint', () => {
  test.each([
    ['dev defaults', {}],
    ['production', PRODUCTION_SETTINGS],
    [
      'another region, port and health path',
      { region: 'eu-central-1', containerPort: 8080, healthCheckPath: '/healthz' },
    ],
  ])('reports nothing on the baseline template (%s)', (_name, settings) => {
    const { json } = synthBaseline(settings);
    const result = cfnLint(json);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  test('would report a broken template (the check can fail)', () => {
    const result = cfnLint({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketNam: 'x' } } } });
    expect(result.code & 2).toBe(2);
    expect(result.output).toContain('E3002');
  });
});
