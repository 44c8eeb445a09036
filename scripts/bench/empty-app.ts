// The baseline for `npm run bench`: an App with one empty stack, synthesized by the same runner.
import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';

const app = new App();
const stack = new Stack(app, 'Empty', { env: { region: 'us-east-1' } });
new CfnWaitConditionHandle(stack, 'Placeholder');
app.synth();
