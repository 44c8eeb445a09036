import { normalizedTemplate, PRODUCTION_SETTINGS, synthBaseline } from '../helpers';

// Two named snapshots of the whole baseline stack. Asset hashes and the kit version are masked, so
// they change only when resources do; the key facts are asserted beside them, and in baseline-stack.test.ts.
describe('baseline stack snapshots', () => {
  test('dev defaults', () => {
    const { json } = synthBaseline();
    expect(Object.keys(json.Resources)).toHaveLength(143);
    expect(normalizedTemplate(json)).toMatchSnapshot();
  });

  test('production with an alert subscriber', () => {
    const { json } = synthBaseline(PRODUCTION_SETTINGS);
    expect(Object.keys(json.Resources)).toHaveLength(157);
    expect(normalizedTemplate(json)).toMatchSnapshot();
  });
});
