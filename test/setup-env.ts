// cfn-lint runs in the suite, so aws-cdk-lib's built-in CloudFormation validation (about 2 s a synth) is off.
process.env.CDK_VALIDATION = 'false';
